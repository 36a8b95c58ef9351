package dtm.scan;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One step of Algorithm 1 (DESIGN.md §3) against allocations computed by hand, and the
 * piecewise-linear map it builds. The hand computations are written out next to each case.
 */
class SparsityAllocationTest {
    private static final double EPS = 1e-12;
    private static final int N = 100;

    private static ComponentCurve curve(String name, long parameters, double f1, double f2) {
        return new ComponentCurve(name, parameters, 0, f1, f2);
    }

    @Test
    void mapGoesThroughTheFourKnots() {
        // t = 0.2: knots (0, 100), (0.1, 80), (0.3, 20), (1, 0).
        DegradationCurve m = DegradationCurve.of(curve("a", 1, 80, 20), 0.2, N);
        assertArrayEquals(new double[] {0, 100}, m.knots()[0], EPS);
        assertArrayEquals(new double[] {0.1, 80}, m.knots()[1], EPS);
        assertArrayEquals(new double[] {0.3, 20}, m.knots()[2], EPS);
        assertArrayEquals(new double[] {1, 0}, m.knots()[3], EPS);
        assertEquals(90, m.valueAt(0.05), EPS);
        assertEquals(50, m.valueAt(0.2), EPS);
        assertEquals(10, m.valueAt(0.65), EPS);
        assertEquals(0.2, m.largestSparsityAtLeast(50), EPS);
        assertEquals(0.05, m.largestSparsityAtLeast(90), EPS);
        assertEquals(0, m.largestSparsityAtLeast(100.5), EPS);
        assertEquals(1, m.largestSparsityAtLeast(0), EPS);
    }

    @Test
    void mapIsMadeMonotoneByARunningMinimum() {
        // f2 = 70 > f1 = 60 is lowered to 60: the map is flat at 60 from 0.1 to 0.3.
        DegradationCurve m = DegradationCurve.of(curve("a", 1, 60, 70), 0.2, N);
        assertEquals(60, m.valueAt(0.2), EPS);
        assertEquals(60, m.valueAt(0.3), EPS);
        assertEquals(0.3, m.largestSparsityAtLeast(60), EPS);
        // Values above N count as N.
        DegradationCurve high = DegradationCurve.of(curve("b", 1, 130, 120), 0.2, N);
        assertEquals(N, high.valueAt(0.3), EPS);
    }

    @Test
    void mapOfAPartlyPrunedComponentEndsAtItsRoom() {
        // current 0.5, t = 0.4: room 0.5; knots (0, 100), (0.2, 60), (min(0.6, 0.5) = 0.5, min(30, 0) = 0).
        DegradationCurve m = DegradationCurve.of(new ComponentCurve("a", 1, 0.5, 60, 30), 0.4, N);
        assertEquals(3, m.knots().length);
        assertArrayEquals(new double[] {0.5, 0}, m.knots()[2], EPS);
        assertEquals(0.5, m.room(), EPS);
        assertEquals(0.5, m.largestSparsityAtLeast(0), EPS);
    }

    @Test
    void twoComponentsOfEqualSizeReachTheTargetPartWayThroughAThresholdStep() {
        // t = 0.2. a never degrades where measured: map 100 on [0, 0.3], then 100·(1 − x)/0.7,
        // so a(f) = 1 − 0.007 f below 100. b: (0.1, 80), (0.3, 20): a(f) = (100 − f)/200 for f ≥ 80.
        // Mean A(f) = (1.5 − 0.012 f)/2 ≥ 0.2 first at f = 91 (A = 0.204; A(92) = 0.198).
        // λ = (0.2 − 0.198)/(0.204 − 0.198) = 1/3:
        //   a = 0.356 + 0.007/3, b = 0.040 + 0.005/3.
        SparsityAllocation r = SparsityAllocation.compute(List.of(curve("a", 100, 100, 100),
                curve("b", 100, 80, 20)), 0.2, N);
        assertEquals(91, r.threshold());
        assertEquals(1.0 / 3, r.lastStepShare(), 1e-9);
        assertEquals(0.356 + 0.007 / 3, r.of("a").added(), 1e-12);
        assertEquals(0.040 + 0.005 / 3, r.of("b").added(), 1e-12);
        assertEquals(0.2, r.meanAdded(), EPS);
        assertTrue(r.of("a").interpolated() >= 91 && r.of("b").interpolated() >= 91);
    }

    @Test
    void largeRobustComponentReachesTheTargetAtTheFirstThreshold() {
        // Same curves, a has 300 parameters, b 100. At f = N: a 0.3, b 0 → mean 0.225 ≥ 0.2 at once.
        // λ = 0.2/0.225 = 8/9 from nothing: a = 0.3·8/9, b = 0.
        SparsityAllocation r = SparsityAllocation.compute(List.of(curve("a", 300, 100, 100),
                curve("b", 100, 80, 20)), 0.2, N);
        assertEquals(N, r.threshold());
        assertEquals(8.0 / 9, r.lastStepShare(), 1e-12);
        assertEquals(0.3 * 8 / 9, r.of("a").added(), 1e-12);
        assertEquals(0, r.of("b").added(), EPS);
        assertEquals(0.2, r.meanAdded(), EPS);
    }

    @Test
    void tiedComponentsGetTheSameSparsity() {
        // Two identical curves (0.1, 80), (0.3, 20): a(f) = 0.1 + (80 − f)/300 for 20 ≤ f ≤ 80,
        // which is 0.2 exactly at f = 50 (A(51) = 0.19667): λ = 1, both 0.2.
        SparsityAllocation r = SparsityAllocation.compute(List.of(curve("a", 50, 80, 20),
                curve("b", 50, 80, 20)), 0.2, N);
        assertEquals(50, r.threshold());
        assertEquals(1.0, r.lastStepShare(), 1e-9);
        assertEquals(0.2, r.of("a").added(), 1e-12);
        assertEquals(r.of("a").added(), r.of("b").added(), 0);
        assertEquals(50, r.of("a").interpolated(), 1e-9);
    }

    @Test
    void componentAlreadyBelowNAtHalfTheTargetGetsNothingAtThresholdN() {
        // b: f1 = 99 < N. a: p = 100, f1 = f2 = N. t = 0.1: a's map is 100 on [0, 0.15].
        // f = N: a 0.15, b 0 → mean 0.15·100/200 = 0.075 < 0.1.
        // f = 99: a: 100(1 − x)/0.85 ≥ 99 → x ≤ 0.1585; b: 0.05 → mean (0.1585 + 0.05)/2 = 0.10425 ≥ 0.1.
        // λ = (0.1 − 0.075)/(0.10425 − 0.075) = 0.025/0.02925.
        SparsityAllocation r = SparsityAllocation.compute(List.of(curve("a", 100, 100, 100),
                curve("b", 100, 99, 50)), 0.1, N);
        assertEquals(99, r.threshold());
        double share = 0.025 / 0.02925;
        assertEquals(share, r.lastStepShare(), 1e-9);
        assertEquals(0.15 + share * 0.0085, r.of("a").added(), 1e-9);
        assertEquals(share * 0.05, r.of("b").added(), 1e-9);
        assertEquals(0.1, r.meanAdded(), EPS);
    }

    @Test
    void targetZeroAddsNothing() {
        SparsityAllocation r = SparsityAllocation.compute(List.of(curve("a", 10, 100, 100),
                curve("b", 10, 30, 10)), 0.0, N);
        assertEquals(N, r.threshold());
        assertEquals(0, r.of("a").added(), 0);
        assertEquals(0, r.of("b").added(), 0);
    }

    @Test
    void targetNearOneClampsThreeHalvesToTheWholeMatrix() {
        // t = 0.9: knots (0, 100), (0.45, 100), (min(1.35, 1) = 1, min(100, 0) = 0).
        // a(f) = 0.45 + 0.55 (100 − f)/100 ≥ 0.9 first at f = 18 (0.901; f = 19: 0.8955).
        SparsityAllocation r = SparsityAllocation.compute(List.of(curve("a", 7, 100, 100)), 0.9, N);
        assertEquals(18, r.threshold());
        assertEquals(0.9, r.of("a").added(), 1e-12);
        assertEquals((0.9 - 0.8955) / 0.0055, r.lastStepShare(), 1e-9);
    }

    @Test
    void targetOnePrunesEverythingAtThresholdZero() {
        SparsityAllocation r = SparsityAllocation.compute(List.of(curve("a", 3, 100, 100),
                curve("b", 5, 10, 0)), 1.0, N);
        assertEquals(0, r.threshold());
        assertEquals(1, r.of("a").added(), EPS);
        assertEquals(1, r.of("b").added(), EPS);
    }

    @Test
    void totalSparsityNeverPassesOne() {
        // a is half pruned (room 0.5), b unpruned; t = 0.7 of a mean room of 0.75.
        // a: (0, 100), (0.35, 100), (0.5, 0): a(f) = 0.35 + 0.15 (100 − f)/100.
        // b: (0, 100), (0.35, 100), (1, 0) (3t/2 = 1.05 clamped to 1): b(f) = 0.35 + 0.65 (100 − f)/100.
        // Mean 0.35 + 0.4 (100 − f)/100 ≥ 0.7 first at f = 12 (0.702; f = 13: 0.698): λ = 1/2,
        // the same as f = 12.5: a = 0.35 + 0.15·0.875, b = 0.35 + 0.65·0.875.
        SparsityAllocation r = SparsityAllocation.compute(List.of(new ComponentCurve("a", 100, 0.5, 100, 100),
                new ComponentCurve("b", 100, 0, 100, 100)), 0.7, N);
        assertEquals(0.7, r.meanAdded(), EPS);
        for (ComponentAllocation a : r.allocations()) {
            assertTrue(a.totalSparsity() <= 1.0, a.component() + " at " + a.totalSparsity());
            assertTrue(a.added() <= a.curve().room() + EPS, a.component());
        }
        assertEquals(12, r.threshold());
        assertEquals(0.35 + 0.15 * 0.875, r.of("a").added(), 1e-12);
        assertEquals(0.35 + 0.65 * 0.875, r.of("b").added(), 1e-12);
    }

    @Test
    void targetBeyondTheRoomLeftIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                SparsityAllocation.compute(List.of(new ComponentCurve("a", 1, 0.5, 100, 100)), 0.6, N));
        assertTrue(e.getMessage().contains("0.5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () ->
                SparsityAllocation.compute(List.of(curve("a", 1, 1, 1), curve("a", 1, 1, 1)), 0.1, N));
        assertThrows(IllegalArgumentException.class, () -> SparsityAllocation.compute(List.of(), 0.1, N));
    }
}
