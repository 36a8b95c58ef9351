package dtm.metrics;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Aggregates and FDT_q against values computed by hand. */
class StatisticsTest {
    private static final double EPS = 1e-12;

    @Test
    void summaryOfFourValues() {
        // sorted 1 2 3 4; h = 3p/100: p10 -> 0.3 -> 1.3, p25 -> 0.75 -> 1.75, p50 -> 1.5 -> 2.5,
        // p75 -> 2.25 -> 3.25, p90 -> 2.7 -> 3.7
        Summary s = Summary.of(new double[] {4, 1, 3, 2});
        assertEquals(4, s.count());
        assertEquals(2.5, s.mean(), EPS);
        assertEquals(2.5, s.median(), EPS);
        assertEquals(1, s.min(), EPS);
        assertEquals(1.3, s.p10(), EPS);
        assertEquals(1.75, s.p25(), EPS);
        assertEquals(3.25, s.p75(), EPS);
        assertEquals(3.7, s.p90(), EPS);
        assertEquals(4, s.max(), EPS);
    }

    @Test
    void summaryWithTies() {
        // sorted 1 5 5 5 5: h = 4p/100: p10 -> 0.4 -> 1 + 0.4*4 = 2.6; p25 -> 1 -> 5
        Summary s = Summary.of(new int[] {5, 5, 1, 5, 5});
        assertEquals(4.2, s.mean(), EPS);
        assertEquals(5, s.median(), EPS);
        assertEquals(2.6, s.p10(), EPS);
        assertEquals(5, s.p25(), EPS);
        assertEquals(5, s.p90(), EPS);
        assertEquals(1, s.min(), EPS);
    }

    @Test
    void summaryOfOneValueAndOfEqualValues() {
        Summary one = Summary.of(new double[] {7});
        for (double v : new double[] {one.mean(), one.median(), one.min(), one.p10(), one.p25(), one.p75(),
                one.p90(), one.max()}) {
            assertEquals(7, v, EPS);
        }
        Summary same = Summary.of(new int[] {3, 3, 3});
        assertEquals(3, same.p10(), EPS);
        assertEquals(3, same.p90(), EPS);
    }

    @Test
    void oneNaNMakesEveryFigureNaN() {
        // A candidate that computes NaN on one sample: the figures must not be those of the others.
        Summary s = Summary.of(new double[] {Double.NaN, 2, 4});
        assertEquals(3, s.count());
        assertTrue(s.measured());
        for (double v : new double[] {s.mean(), s.median(), s.min(), s.p10(), s.p25(), s.p75(), s.p90(), s.max()}) {
            assertTrue(Double.isNaN(v), "every figure NaN, got " + s);
        }
        Summary none = Summary.absent();
        assertEquals(0, none.count());
        assertFalse(none.measured());
        assertTrue(Double.isNaN(none.mean()) && Double.isNaN(none.p90()));
        assertEquals(Summary.absent(), Summary.of(new double[0]));
    }

    @Test
    void anInfiniteValueIsNoFiniteMean() {
        Summary s = Summary.of(new double[] {1, Double.POSITIVE_INFINITY});
        assertEquals(Double.POSITIVE_INFINITY, s.mean());
        assertEquals(Double.POSITIVE_INFINITY, s.max());
        assertEquals(1, s.min(), EPS);
    }

    @Test
    void fdtQIsTheLargestValueReachedByAtLeastQPercent() {
        int[] fdt = {40, 10, 30, 20};
        assertEquals(40, Statistics.fdtQ(fdt, 0), "q = 0: the largest value");
        assertEquals(40, Statistics.fdtQ(fdt, 25), "1 of 4 samples reaches 40");
        assertEquals(30, Statistics.fdtQ(fdt, 26), "more than one sample is needed: 30");
        assertEquals(30, Statistics.fdtQ(fdt, 50));
        assertEquals(20, Statistics.fdtQ(fdt, 75), "3 of 4 samples have FDT >= 20, only 2 have >= 21");
        assertEquals(10, Statistics.fdtQ(fdt, 76));
        assertEquals(10, Statistics.fdtQ(fdt, 100), "q = 100: the smallest value");
    }

    @Test
    void fdtQWithTies() {
        int[] fdt = {7, 100, 0, 7, 7};
        assertEquals(100, Statistics.fdtQ(fdt, 20));
        assertEquals(7, Statistics.fdtQ(fdt, 21));
        assertEquals(7, Statistics.fdtQ(fdt, 75), "4 of 5 samples have FDT >= 7 (3.75 needed)");
        assertEquals(7, Statistics.fdtQ(fdt, 80), "exactly 4 of 5");
        assertEquals(0, Statistics.fdtQ(fdt, 81));
        assertEquals(0, Statistics.fdtQ(fdt, 100));
    }

    @Test
    void fdtQComputesTheRankExactly() {
        int[] fdt = {1, 2, 3, 4, 5, 6, 7, 8};
        // 75 % of 8 is exactly 6 samples: the 6th largest is 3 (a float product could round up to 7 -> 2).
        assertEquals(3, Statistics.fdtQ(fdt, 75));
        assertEquals(2, Statistics.fdtQ(fdt, 75.1));
        assertEquals(8, Statistics.fdtQ(fdt, 12.5));
        assertEquals(7, Statistics.fdtQ(fdt, 12.6));
    }

    @Test
    void fdtQOfOneSampleAndOfEqualSamples() {
        for (double q : new double[] {0, 0.5, 50, 99.9, 100}) {
            assertEquals(42, Statistics.fdtQ(new int[] {42}, q));
            assertEquals(100, Statistics.fdtQ(new int[] {100, 100, 100}, q));
        }
    }

    @Test
    void fdtQRejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> Statistics.fdtQ(new int[] {1}, -1));
        assertThrows(IllegalArgumentException.class, () -> Statistics.fdtQ(new int[] {1}, 100.5));
        assertThrows(IllegalArgumentException.class, () -> Statistics.fdtQ(new int[] {1}, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Statistics.fdtQ(new int[0], 50));
    }

    @Test
    void aggregatesOfSyntheticSamples() {
        List<SampleMetrics> samples = List.of(
                new SampleMetrics(0, 5, 10, 10, 0, 1.0, 0.0, 0.0),
                new SampleMetrics(1, 5, 10, 2, 4, 2.0, -0.1, 0.5),
                new SampleMetrics(2, 5, 5, 0, 5, 4.0, -0.3, 1.5)); // stopped at EOS: N = 5
        Aggregates a = Aggregates.of(samples, KlMode.APPROXIMATE);
        assertEquals(25, a.tokens());
        assertEquals(1, a.identical());
        assertEquals(4.0, a.fdt().mean(), EPS);
        assertEquals(2, a.fdt().median(), EPS);
        assertEquals(3.0, a.sdt().mean(), EPS);
        assertEquals((0 + 0.4 + 1.0) / 3, a.sdtShare().mean(), EPS);
        assertEquals(1 - (0 + 0.4 + 1.0) / 3, a.top1Agreement().mean(), EPS);
        // token-weighted: (10*1 + 10*2 + 5*4) / 25 = 2
        assertEquals(2.0, a.tokenNll(), EPS);
        assertEquals(Math.exp(2.0), a.tokenPerplexity(), 1e-9);
        assertEquals((Math.exp(1) + Math.exp(2) + Math.exp(4)) / 3, a.perplexity().mean(), 1e-9);
        assertEquals(2.0 / 3, a.kl().mean(), EPS);
    }

    @Test
    void aggregatesKeepANonFiniteSampleVisible() {
        List<SampleMetrics> samples = List.of(
                new SampleMetrics(0, 5, 10, 10, 0, 1.0, 0.0, 0.0),
                new SampleMetrics(1, 5, 10, 0, 10, Double.NaN, Double.NaN, Double.NaN));
        Aggregates a = Aggregates.of(samples, KlMode.EXACT);
        assertEquals(2, a.kl().count());
        assertTrue(Double.isNaN(a.kl().mean()), "KL mean of a NaN sample: " + a.kl());
        assertTrue(Double.isNaN(a.nll().median()));
        assertTrue(Double.isNaN(a.tokenNll()));
        assertTrue(Double.isNaN(a.tokenPerplexity()));
        assertEquals(5.0, a.fdt().mean(), EPS, "FDT stays a count");
    }

    @Test
    void klOfModeNoneIsNotMeasured() {
        List<SampleMetrics> samples = List.of(new SampleMetrics(0, 5, 10, 10, 0, 1.0, 0.0, Double.NaN));
        Aggregates a = Aggregates.of(samples, KlMode.NONE);
        assertEquals(Summary.absent(), a.kl());
        assertTrue(a.nll().measured());
    }

    @Test
    void sampleMetricsRejectInconsistentCounts() {
        assertThrows(IllegalArgumentException.class, () -> new SampleMetrics(0, 1, 10, 10, 1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new SampleMetrics(0, 1, 10, 3, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new SampleMetrics(0, 1, 10, 11, 0, 0, 0, 0));
    }
}
