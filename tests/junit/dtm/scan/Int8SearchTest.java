package dtm.scan;

import dtm.compress.Plan;
import dtm.model.Compression;
import dtm.model.ComponentKind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToIntFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The FDT-guided int8 selection and its random-order baseline, with a fake plan evaluator. */
class Int8SearchTest {
    private static final int N = 100;
    private static final ComponentKind[] KINDS = {ComponentKind.Q_PROJ, ComponentKind.K_PROJ, ComponentKind.V_PROJ,
        ComponentKind.O_PROJ, ComponentKind.GATE_PROJ, ComponentKind.UP_PROJ};

    /** Six components of layer 0: int8 cell FDT_75 per component, and a magnitude cell that must be ignored. */
    private static ScanResult scan(int[] int8Fdt) {
        List<ScanCell> cells = new ArrayList<>();
        for (int i = 0; i < int8Fdt.length; i++) {
            cells.add(SyntheticScans.cell(KINDS[i], 0, 100 * (i + 1), "magnitude:0.5", 100 - i, 100, 0, 2, N));
            cells.add(SyntheticScans.cell(KINDS[i], 0, 100 * (i + 1), "int8", int8Fdt[i], int8Fdt[i], 0, 2, N));
        }
        return new ScanResult("base", "ref", N, List.of("magnitude:0.5", "int8"), cells, 1);
    }

    private static String name(int i) {
        return SyntheticScans.name(KINDS[i], 0);
    }

    /** A plan evaluator whose FDT_75 is a function of the set of naively quantized components. */
    private static final class Fake implements PlanEvaluator {
        final ToIntFunction<Set<String>> fdtOfQuantized;
        final List<Integer> prefixLengths = new ArrayList<>();
        final List<String> names = new ArrayList<>();

        Fake(ToIntFunction<Set<String>> fdtOfQuantized) {
            this.fdtOfQuantized = fdtOfQuantized;
        }

        @Override
        public PlanOutcome evaluate(String name, Plan plan) {
            names.add(name);
            Set<String> quantized = new HashSet<>();
            for (Plan.Entry e : plan.entries()) {
                if (e.compressions().equals(List.of(Compression.int8()))) {
                    quantized.add(e.match());
                }
            }
            prefixLengths.add(quantized.size());
            int fdt = fdtOfQuantized.applyAsInt(quantized);
            return new PlanOutcome(name, plan, 0, 0, new Headline(0, 0, 0), fdt, fdt, 0, 2, Double.NaN, 0);
        }
    }

    /** FDT_75 = N minus the sum of each quantized component's penalty, at least 0 (monotone in the set). */
    private static Fake additive(Map<String, Integer> penalty) {
        return new Fake(set -> Math.max(0, N - set.stream().mapToInt(penalty::get).sum()));
    }

    // int8 cells: component 0..5 with FDT_75 80, 95, 60, 95, 99, 10; means equal, so ties
    // keep scan order: order = 4 (99), 1 (95), 3 (95), 0 (80), 2 (60), 5 (10).
    private static final int[] INT8_FDT = {80, 95, 60, 95, 99, 10};
    private static final List<Integer> ORDER = List.of(4, 1, 3, 0, 2, 5);
    // Penalties along the order: 1, 5, 5, 20, 40, 90 → prefix FDT 99, 94, 89, 69, 29, 0.
    private static final Map<String, Integer> PENALTY = Map.of(name(4), 1, name(1), 5, name(3), 5, name(0), 20,
            name(2), 40, name(5), 90);

    @Test
    void ranksComponentsByTheirInt8Cell() {
        List<RankedComponent> order = Int8Search.rank(scan(INT8_FDT));
        assertEquals(ORDER.stream().map(Int8SearchTest::name).toList(),
                order.stream().map(RankedComponent::component).toList());
        assertEquals(99, order.get(0).fdt75());
        assertThrows(IllegalArgumentException.class, () -> Int8Search.rank(new ScanResult("b", "r", N,
                List.of("magnitude:0.5"), List.of(), 0)));
    }

    @Test
    void thePerplexityRankedBaselineOrdersByPerplexityOfY() {
        // int8 cells of components 0..5 with perplexities 2.5, 2.1, 3.0, 2.1, 2.9, 2.0: lowest first,
        // ties (1 and 3 at 2.1, both FDT_75 95) in scan order.
        double[] ppl = {2.5, 2.1, 3.0, 2.1, 2.9, 2.0};
        List<ScanCell> cells = new ArrayList<>();
        for (int i = 0; i < ppl.length; i++) {
            cells.add(SyntheticScans.cell(KINDS[i], 0, 100 * (i + 1), "int8", INT8_FDT[i], INT8_FDT[i], 0, ppl[i], N));
        }
        ScanResult scan = new ScanResult("base", "ref", N, List.of("int8"), cells, 1);
        assertEquals(List.of(5, 1, 3, 0, 4, 2).stream().map(Int8SearchTest::name).toList(),
                Int8Search.rankByPerplexity(scan).stream().map(RankedComponent::component).toList());
        // The same search over that order: component 5 first (penalty 90) fails at once.
        Int8Selection s = Int8Search.select(Int8Search.rankByPerplexity(scan), Int8Search.PERPLEXITY_RANKED, "ranked",
                new Int8Search.Options(85, null, Int8Search.PrefixSearch.LINEAR), additive(PENALTY));
        assertEquals(0, s.selected());
        assertEquals(List.of(1), s.checks().stream().map(Int8Search.PrefixCheck::length).toList());
        assertTrue(s.plan().description().startsWith(Int8Search.PERPLEXITY_RANKED + ": the 0 of 6"),
                s.plan().description());
    }

    @Test
    void aFallbackThatAloneFailsIsCheckedAndSaid() {
        // Every component left to the fallback costs 5 of FDT_75: all six cost 30 (70 < 85), and
        // every longer prefix fails too, so nothing is naive and the plan says the fallback fails.
        Fake fake = new Fake(set -> Math.max(0, N - 5 * (6 - set.size()) - set.stream().mapToInt(PENALTY::get).sum()));
        Int8Selection s = Int8Search.select(scan(INT8_FDT),
                new Int8Search.Options(85, Compression.int8Outlier(6.0), Int8Search.PrefixSearch.BINARY), fake);
        assertEquals(0, s.selected());
        Int8Search.PrefixCheck alone = s.check(0);
        assertEquals(70, alone.outcome().fdt75());
        assertTrue(!alone.passed());
        assertTrue(s.plan().description().contains("no prefix of the 6 components")
                && s.plan().description().contains("the fallback alone gives FDT_75 70"), s.plan().description());
        // Without a fallback the empty prefix is the base: not evaluated.
        Int8Selection none = Int8Search.select(scan(INT8_FDT),
                new Int8Search.Options(101, null, Int8Search.PrefixSearch.BINARY), additive(PENALTY));
        assertEquals(0, none.selected());
        assertNull(none.check(0));
    }

    @Test
    void linearSearchGrowsThePrefixUntilTheFirstFailure() {
        Fake fake = additive(PENALTY);
        Int8Selection s = Int8Search.select(scan(INT8_FDT),
                new Int8Search.Options(85, null, Int8Search.PrefixSearch.LINEAR), fake);
        // Prefix FDT 99, 94, 89 pass the threshold 85; 69 fails.
        assertEquals(3, s.selected());
        assertEquals(List.of(1, 2, 3, 4), fake.prefixLengths);
        assertEquals(100L * (5 + 2 + 4), s.selectedParameters());
        // Plan: the first three naive int8, nothing else (floating point), each with evidence.
        assertEquals(List.of(name(4), name(1), name(3)), s.plan().entries().stream().map(Plan.Entry::match).toList());
        Plan.Entry first = s.plan().entries().get(0);
        assertEquals(1, first.evidence().path("rank").asInt());
        assertEquals(99, first.evidence().path("fdt75Alone").asInt());
        assertEquals(89, first.evidence().path("selectedFdt75").asInt());
        assertEquals(69, first.evidence().path("nextPrefixFdt75").asInt());
        assertEquals(85, first.evidence().path("threshold").asInt());
    }

    @Test
    void binarySearchFindsTheSameBoundaryWhenFdtFallsMonotonically() {
        Fake fake = additive(PENALTY);
        Int8Selection s = Int8Search.select(scan(INT8_FDT),
                new Int8Search.Options(85, Compression.int8Outlier(6.0), Int8Search.PrefixSearch.BINARY), fake);
        assertEquals(3, s.selected());
        // The whole order first (6: fails), then bisection between 0 and 6: 3 passes, 4 fails.
        assertEquals(List.of(6, 3, 4), fake.prefixLengths);
        // With a fallback every component has an entry: three int8, three int8-outlier.
        assertEquals(6, s.plan().entries().size());
        for (int i = 0; i < 6; i++) {
            Plan.Entry e = s.plan().entries().get(i);
            assertEquals(name(ORDER.get(i)), e.match());
            assertEquals(List.of(i < 3 ? Compression.int8() : Compression.int8Outlier(6.0)), e.compressions());
            assertEquals(i + 1, e.evidence().path("rank").asInt());
            assertEquals(i < 3, e.evidence().path("naiveInt8").asBoolean());
        }
    }

    @Test
    void binarySearchQuantizesEverythingWhenTheWholeOrderPasses() {
        Fake fake = additive(PENALTY);
        Int8Selection s = Int8Search.select(scan(INT8_FDT),
                new Int8Search.Options(0, null, Int8Search.PrefixSearch.BINARY), fake);
        assertEquals(6, s.selected());
        assertEquals(List.of(6), fake.prefixLengths);
    }

    @Test
    void nonMonotoneFdtStopsLinearSearchEarlierThanBinarySearch() {
        // Prefix FDT by length: 1 → 95, 2 → 80 (fails 85), 3 → 90, 4 → 88, 5 → 50, 6 → 40.
        int[] byLength = {N, 95, 80, 90, 88, 50, 40};
        Int8Search.Options linear = new Int8Search.Options(85, null, Int8Search.PrefixSearch.LINEAR);
        Fake l = new Fake(set -> byLength[set.size()]);
        assertEquals(1, Int8Search.select(scan(INT8_FDT), linear, l).selected());
        // Binary: 6 fails; mid 3 passes; mid 4 passes; mid 5 fails → 4, skipping the failure at 2.
        Fake b = new Fake(set -> byLength[set.size()]);
        Int8Selection s = Int8Search.select(scan(INT8_FDT),
                new Int8Search.Options(85, null, Int8Search.PrefixSearch.BINARY), b);
        assertEquals(4, s.selected());
        assertEquals(List.of(6, 3, 4, 5), b.prefixLengths);
        assertTrue(s.check(4).passed());
        assertNull(s.check(2));
    }

    @Test
    void randomOrderBaselineQuantizesAboutTheSameParameters() {
        List<PlanComponent> components = PlanComponent.of(scan(INT8_FDT));
        Plan p = Int8Search.randomOrder(components, 1100, 7, null);
        long quantized = 0;
        for (Plan.Entry e : p.entries()) {
            assertEquals(List.of(Compression.int8()), e.compressions());
            quantized += components.stream().filter(c -> c.name().equals(e.match())).findFirst().orElseThrow()
                    .parameters();
        }
        // No other prefix of the shuffled order is closer to 1100 parameters.
        List<PlanComponent> shuffled = new ArrayList<>(components);
        java.util.Collections.shuffle(shuffled, new java.util.Random(7));
        long best = Long.MAX_VALUE;
        long sum = 0;
        for (PlanComponent c : shuffled) {
            sum += c.parameters();
            best = Math.min(best, Math.abs(sum - 1100));
        }
        assertEquals(best, Math.abs(quantized - 1100));
        assertEquals(shuffled.subList(0, p.entries().size()).stream().map(PlanComponent::name).toList(),
                p.entries().stream().map(Plan.Entry::match).toList());
        // Seeded: the same seed gives the same plan, another seed another order.
        assertEquals(p, Int8Search.randomOrder(components, 1100, 7, null));
        assertNotEquals(matches(Int8Search.randomOrder(components, 2100, 7, Compression.int8Outlier(6.0))),
                matches(Int8Search.randomOrder(components, 2100, 8, Compression.int8Outlier(6.0))));
    }

    private static List<String> matches(Plan p) {
        return p.entries().stream().map(Plan.Entry::match).toList();
    }

    @Test
    void comparisonReusesTheSelectedPrefixAndEvaluatesTheBaseline() {
        Fake fake = additive(PENALTY);
        Int8Search.Comparison c = Int8Search.compare(scan(INT8_FDT),
                new Int8Search.Options(85, null, Int8Search.PrefixSearch.LINEAR), 3, fake);
        assertEquals(List.of(Int8Search.GUIDED, Int8Search.PERPLEXITY_RANKED, Int8Search.RANDOM_ORDER),
                c.outcomes().stream().map(PlanOutcome::name).toList());
        assertEquals(89, c.outcomes().get(0).fdt75());
        assertEquals(c.selection().plan(), c.outcomes().get(0).plan());
        assertEquals(c.perplexityRanked().plan(), c.outcomes().get(1).plan());
        // Four prefix checks per search (the perplexities tie, so both orders are the same here)
        // and the random order: neither selected plan is evaluated twice.
        assertEquals(9, fake.names.size());
        assertEquals(Int8Search.RANDOM_ORDER, fake.names.get(8));
    }
}
