package dtm.scan;

import com.fasterxml.jackson.databind.JsonNode;
import dtm.compress.Plan;
import dtm.model.Compression;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The multi-step pruning search and its baselines, on a synthetic model ({@link FakeModel})
 * standing in for the engine.
 */
class PruningSearchTest {
    private static final int N = 100;

    /** FDT falls linearly from N at sparsity 0 to 0 at sparsity {@code zeroAt}. */
    private static FakeModel.Curve linear(double zeroAt) {
        return s -> N * (1 - s / zeroAt);
    }

    private static final List<PlanComponent> COMPONENTS = List.of(new PlanComponent("robust", 300),
            new PlanComponent("middle", 200), new PlanComponent("fragile", 100));

    private static FakeModel model() {
        return new FakeModel(N).with("robust", linear(2.0), 1.0).with("middle", linear(1.2), 1.0)
                .with("fragile", linear(0.6), 1.0);
    }

    private static double weightedSparsity(Plan plan) {
        Map<String, Double> s = FakeModel.sparsities(plan);
        double sum = 0;
        for (PlanComponent c : COMPONENTS) {
            sum += c.parameters() * s.getOrDefault(c.name(), 0.0);
        }
        return sum / PlanComponent.totalParameters(COMPONENTS);
    }

    @Test
    void oneStepMeasuresAtHalfAndThreeHalvesAndAllocatesByAlgorithm1() {
        FakeModel model = model();
        PruningResult r = PruningSearch.run(COMPONENTS, PruningSearch.Schedule.equalSteps(0.4, 1), N,
                PruningDriver.FDT, model);
        // Two cells per component, at t/2 = 0.2 and 3t/2 = 0.6, each on top of the empty plan.
        assertEquals(6, model.requests.size());
        for (FakeModel.Request q : model.requests) {
            assertTrue(q.plan().entries().isEmpty());
            assertTrue(Math.abs(q.totalSparsity() - 0.2) < 1e-12 || Math.abs(q.totalSparsity() - 0.6) < 1e-12,
                    "measured at " + q.totalSparsity());
        }
        // The allocation is Algorithm 1 on the measured FDT_75 (the linear curves, rounded):
        // robust 90, 70; middle 83, 50; fragile 67, 0.
        SparsityAllocation expected = SparsityAllocation.compute(List.of(new ComponentCurve("robust", 300, 0, 90, 70),
                new ComponentCurve("middle", 200, 0, 83, 50), new ComponentCurve("fragile", 100, 0, 67, 0)), 0.4, N);
        SparsityAllocation got = r.steps().get(0).allocation();
        assertEquals(expected, got);
        assertEquals(0.4, weightedSparsity(r.plan()), 1e-12);
        assertTrue(r.sparsityOf("robust") > r.sparsityOf("middle"));
        assertTrue(r.sparsityOf("middle") > r.sparsityOf("fragile"));
        // Evidence: the step's threshold and both measurements for every entry.
        for (Plan.Entry e : r.plan().entries()) {
            JsonNode step = e.evidence().path("steps").get(0);
            assertEquals(got.threshold(), step.path("threshold").asInt(), e.match());
            assertEquals(2, step.path("fdt75").size(), e.match());
            assertEquals(got.of(e.match()).totalSparsity(), step.path("sparsityAfter").asDouble(), 0, e.match());
            assertEquals(List.of(Compression.magnitude(got.of(e.match()).totalSparsity())), e.compressions());
        }
    }

    @Test
    void laterStepsStartFromThePlanSoFarAndReachTheTotalTarget() {
        FakeModel model = model();
        PruningResult r = PruningSearch.run(COMPONENTS, PruningSearch.Schedule.equalSteps(0.6, 3), N,
                PruningDriver.FDT, model);
        assertEquals(3, r.steps().size());
        assertEquals(0.6, weightedSparsity(r.plan()), 1e-12);
        // Step 2's cells start from step 1's plan: each component at its step-1 sparsity.
        SparsityAllocation first = r.steps().get(0).allocation();
        List<FakeModel.Request> second = model.requests.subList(6, 12);
        for (FakeModel.Request q : second) {
            Map<String, Double> start = FakeModel.sparsities(q.plan());
            for (ComponentAllocation a : first.allocations()) {
                assertEquals(a.totalSparsity(), start.getOrDefault(a.component(), 0.0), 0, a.component());
            }
            double before = first.of(q.component()).totalSparsity();
            assertTrue(Math.abs(q.totalSparsity() - Math.min(before + 0.1, 1)) < 1e-12
                    || Math.abs(q.totalSparsity() - Math.min(before + 0.3, 1)) < 1e-12, q.toString());
        }
        // Each entry prunes in steps to increasing sparsities; its evidence lists all three steps.
        for (Plan.Entry e : r.plan().entries()) {
            double previous = 0;
            for (Compression c : e.compressions()) {
                assertEquals(Compression.Kind.MAGNITUDE, c.kind());
                assertTrue(c.sparsity() > previous, e.match() + " " + e.compressions());
                previous = c.sparsity();
            }
            assertEquals(3, e.evidence().path("steps").size());
        }
        assertTrue(r.sparsityOf("robust") > r.sparsityOf("fragile"));
    }

    @Test
    void perplexityDriverMapsPerplexityOntoFdtScale() {
        // ppl₀ = 10. "a" never changes perplexity: score 100. "b" has ppl 12.5 at 0.1 (score 80) and
        // 50 at 0.3 (score 20): the curves of the hand-computed case of SparsityAllocationTest, so
        // the allocation is a = 0.356 + 0.007/3, b = 0.040 + 0.005/3 at threshold 91.
        CellEvaluator cells = new CellEvaluator() {
            @Override
            public CellMeasurement measure(Plan plan) {
                return new CellMeasurement(N, 10);
            }

            @Override
            public CellMeasurement measure(Plan current, String component, double totalSparsity) {
                if (component.equals("a")) {
                    return new CellMeasurement(0, 10);
                }
                return new CellMeasurement(0, Math.abs(totalSparsity - 0.1) < 1e-12 ? 12.5 : 50);
            }
        };
        PruningResult r = PruningSearch.run(List.of(new PlanComponent("a", 100), new PlanComponent("b", 100)),
                PruningSearch.Schedule.equalSteps(0.2, 1), N, PruningDriver.PERPLEXITY, cells);
        SparsityAllocation step = r.steps().get(0).allocation();
        assertEquals(91, step.threshold());
        assertEquals(0.356 + 0.007 / 3, step.of("a").added(), 1e-12);
        assertEquals(0.040 + 0.005 / 3, step.of("b").added(), 1e-12);
        JsonNode evidence = r.plan().entries().get(1).evidence().path("steps").get(0);
        assertEquals(10, evidence.path("currentPerplexity").asDouble(), 0);
        assertEquals(80, evidence.path("score").get(0).asDouble(), 1e-12);
        assertEquals(20, evidence.path("score").get(1).asDouble(), 1e-12);
        assertEquals(PruningDriver.PERPLEXITY.label() + " pruning (Algorithm 1)",
                r.plan().entries().get(0).evidence().path("rule").asText());
    }

    @Test
    void perplexityScoreIsNAtTheCurrentPerplexityAndHalvesWhenItDoubles() {
        assertEquals(100, PruningDriver.perplexityScore(10, 10, 100), 0);
        assertEquals(100, PruningDriver.perplexityScore(9, 10, 100), 0);
        assertEquals(50, PruningDriver.perplexityScore(20, 10, 100), 1e-12);
        assertEquals(0, PruningDriver.perplexityScore(Double.POSITIVE_INFINITY, 10, 100), 0);
        assertEquals(0, PruningDriver.perplexityScore(Double.NaN, 10, 100), 0);
    }

    @Test
    void uniformBaselinePrunesEveryComponentEqually() {
        Plan p = PruningSearch.uniform(COMPONENTS, 0.45);
        assertEquals(3, p.entries().size());
        for (Plan.Entry e : p.entries()) {
            assertEquals(List.of(Compression.magnitude(0.45)), e.compressions());
            assertEquals(PruningSearch.UNIFORM, e.evidence().path("rule").asText());
        }
        assertEquals(0.45, weightedSparsity(p), 1e-12);
    }

    @Test
    void comparisonEvaluatesTheGuidedPlanAndBothBaselines() {
        FakeModel model = model()
                // perplexity weights that disagree with FDT: the fragile component barely moves perplexity
                .with("fragile", linear(0.6), 0.01).with("robust", linear(2.0), 5.0);
        PruningSearch.Comparison c = PruningSearch.compare(COMPONENTS, PruningSearch.Schedule.equalSteps(0.4, 2), N,
                model, model);
        assertEquals(List.of("FDT-guided", "uniform magnitude", "perplexity-guided"), model.evaluated);
        assertEquals(model.evaluated, c.outcomes().stream().map(PlanOutcome::name).toList());
        assertEquals(0.4, weightedSparsity(c.perplexityGuided().plan()), 1e-12);
        assertNotEquals(c.fdtGuided().plan().entries(), c.perplexityGuided().plan().entries());
        // On this model the FDT-guided plan keeps a higher FDT_75 than both baselines.
        int guided = c.outcomes().get(0).fdt75();
        assertTrue(guided > c.outcomes().get(1).fdt75(), c.outcomes().toString());
        assertTrue(guided > c.outcomes().get(2).fdt75(), c.outcomes().toString());
    }

    /** The weights file FakeRecovery names (Plan.Recovered keeps it absolute). */
    private static java.nio.file.Path weights(String name) {
        return java.nio.file.Path.of(name).toAbsolutePath();
    }

    /** Records every call and names each result's weights after the plan and step. */
    private static final class FakeRecovery implements StepRecovery {
        final java.util.List<String> calls = new java.util.ArrayList<>();
        final java.util.List<Plan> pruned = new java.util.ArrayList<>();

        @Override
        public Plan recover(Plan plan, String planName, int step) {
            calls.add(planName + " " + step);
            pruned.add(plan);
            return plan.withRecovered(new Plan.Recovered(java.nio.file.Path.of(planName + "-" + step), null));
        }
    }

    @Test
    void withRecoveryEveryPlanIsTrainedAfterEveryStepAndTheNextStepMeasuresTheTrainedModel() {
        FakeModel model = model();
        FakeRecovery recovery = new FakeRecovery();
        PruningSearch.Comparison c = PruningSearch.compare(COMPONENTS, PruningSearch.Schedule.equalSteps(0.6, 3), N,
                model, model, recovery);
        // The same budget for all three plans: a training after each of their three steps.
        assertEquals(List.of("FDT-guided 1", "FDT-guided 2", "FDT-guided 3", "uniform magnitude 1",
                "uniform magnitude 2", "uniform magnitude 3", "perplexity-guided 1", "perplexity-guided 2",
                "perplexity-guided 3"), recovery.calls);
        // Each plan ends with its last step's trained weights.
        assertEquals(weights("FDT-guided-3"), c.fdtGuided().plan().recovered().weights());
        assertEquals(weights("uniform magnitude-3"), c.uniform().recovered().weights());
        assertEquals(weights("perplexity-guided-3"), c.perplexityGuided().plan().recovered().weights());
        // Step k's pruned model is step k-1's trained one with the prunings so far.
        assertEquals(null, recovery.pruned.get(0).recovered());
        assertEquals(weights("FDT-guided-1"), recovery.pruned.get(1).recovered().weights());
        assertEquals(weights("uniform magnitude-2"), recovery.pruned.get(5).recovered().weights());
        // The FDT-guided search's step-2 measurements start from step 1's trained model.
        for (FakeModel.Request q : model.requests.subList(6, 12)) {
            assertEquals(weights("FDT-guided-1"), q.plan().recovered().weights(), q.toString());
        }
        // The uniform baseline prunes every component to the cumulative sparsity of each step.
        for (int k = 0; k < 3; k++) {
            assertEquals(0.2 * (k + 1), weightedSparsity(recovery.pruned.get(3 + k)), 1e-12);
        }
        assertEquals(0.6, weightedSparsity(c.uniform()), 1e-12);
        assertEquals(0.6, weightedSparsity(c.fdtGuided().plan()), 1e-12);
    }

    @Test
    void scheduleStepsMustAddUpToTheTarget() {
        PruningSearch.Schedule s = PruningSearch.Schedule.equalSteps(0.7, 3);
        assertEquals(3, s.steps().size());
        assertEquals(0.7, s.steps().stream().mapToDouble(Double::doubleValue).sum(), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> new PruningSearch.Schedule(0.5, List.of(0.2, 0.2)));
        assertThrows(IllegalArgumentException.class, () -> new PruningSearch.Schedule(0.5, List.of()));
        assertThrows(IllegalArgumentException.class, () -> PruningSearch.Schedule.equalSteps(0, 2));
    }
}
