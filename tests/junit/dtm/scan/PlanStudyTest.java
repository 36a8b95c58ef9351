package dtm.scan;

import dtm.compress.Plan;
import dtm.data.DefaultModel;
import dtm.metrics.EvaluationOptions;
import dtm.metrics.EvaluationResult;
import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.metrics.ReferenceOptions;
import dtm.metrics.RunOptions;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.ModelOptions;
import dtm.model.SessionOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plan searches on the default model with the engine: a measurement on top of a non-empty
 * plan from cached layer inputs equals a full evaluation of the longer plan; measurements the
 * scan has are taken from it unchanged; and every plan the study writes reproduces its reported
 * metrics when read back from its JSON and evaluated again.
 */
class PlanStudyTest {
    private static final List<String> COMPONENTS = List.of("model.layers.[4-5].mlp.*", "model.layers.5.self_attn.o_proj");

    @TempDir
    static Path tmp;

    private static Model base;
    private static Reference reference;

    @BeforeAll
    static void setUp() throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        base = Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()));
        reference = Reference.generate(base, PromptSet.defaults(base, 24, 8, 3),
                ReferenceOptions.defaults().withN(32), run());
    }

    @AfterAll
    static void tearDown() {
        if (base != null) {
            base.close();
        }
    }

    private static RunOptions run() {
        return RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(2)).withChunkSamples(3);
    }

    private static CellMeasurement fullEvaluation(Plan plan) {
        try (Model candidate = plan.apply(base, null, 2)) {
            EvaluationResult r = reference.evaluate(candidate, EvaluationOptions.defaults().withRun(run()));
            return new CellMeasurement(r.fdtQ(75), r.aggregates().tokenPerplexity());
        }
    }

    @Test
    void aMeasurementOnTopOfAPlanEqualsTheFullEvaluationOfTheLongerPlan() {
        Plan current = new Plan("current", List.of(
                new Plan.Entry("model.layers.2.mlp.up_proj", Compression.magnitude(0.3)),
                new Plan.Entry("model.layers.5.mlp.down_proj", Compression.magnitude(0.2))));
        List<String> names = List.of("model.layers.5.mlp.down_proj", "model.layers.4.mlp.gate_proj",
                "model.layers.2.mlp.up_proj");
        try (EngineEvaluator engine = new EngineEvaluator(base, reference, null, null, names, true, run())) {
            // Layer 5 first, then layer 4 (the cache goes back), then the component already in the plan.
            for (String[] c : new String[][] {{"model.layers.5.mlp.down_proj", "0.45"},
                    {"model.layers.4.mlp.gate_proj", "0.6"}, {"model.layers.2.mlp.up_proj", "0.5"}}) {
                double s = Double.parseDouble(c[1]);
                CellMeasurement measured = engine.measure(current, c[0], s);
                List<Plan.Entry> entries = new java.util.ArrayList<>();
                boolean extended = false;
                for (Plan.Entry e : current.entries()) {
                    if (e.match().equals(c[0])) {
                        List<Compression> chain = new java.util.ArrayList<>(e.compressions());
                        chain.add(Compression.magnitude(s));
                        entries.add(new Plan.Entry(e.match(), chain, null));
                        extended = true;
                    } else {
                        entries.add(e);
                    }
                }
                if (!extended) {
                    entries.add(new Plan.Entry(c[0], Compression.magnitude(s)));
                }
                assertEquals(fullEvaluation(new Plan("longer", entries)), measured, c[0] + " at " + s);
            }
            int evaluations = engine.evaluations();
            engine.measure(current, "model.layers.4.mlp.gate_proj", 0.6);
            assertEquals(evaluations, engine.evaluations(), "a repeated measurement is remembered, not redone");
        }
    }

    @Test
    void plansReproduceTheirReportedMetricsWhenReEvaluated() {
        Scan.Options scan = Scan.Options.defaults().withComponents(COMPONENTS)
                .withSettings(List.of(Compression.magnitude(0.1), Compression.magnitude(0.3), Compression.int8()))
                .withCheckpoint(tmp.resolve("scan.jsonl")).withRun(run());
        PlanStudy.Options options = new PlanStudy.Options(scan, PruningSearch.Schedule.equalSteps(0.2, 1),
                new Int8Search.Options(24, null, Int8Search.PrefixSearch.BINARY), 7, null, 0);
        PlanStudy.Result result = PlanStudy.run(base, reference, null, options);

        assertEquals(7 * 3, result.scan().cells().size());
        assertNotNull(result.pruning());
        assertNotNull(result.int8());
        assertEquals(List.of(PruningDriver.FDT.label(), PruningSearch.UNIFORM, PruningDriver.PERPLEXITY.label(),
                Int8Search.GUIDED, Int8Search.RANDOM_ORDER), result.outcomes().stream().map(PlanOutcome::name).toList());
        // Step 1 of a 20 % target measures at 10 % and 30 %: both are scan cells, so the
        // searches evaluated only the plans and the int8 prefixes.
        assertTrue(result.evaluations() <= 3 + 1 + 4 + 1, "evaluations: " + result.evaluations());
        for (PlanOutcome o : result.outcomes()) {
            Plan reread = Plan.fromJson(o.plan().toJson());
            CellMeasurement again = fullEvaluation(reread);
            assertEquals(o.fdt75(), again.fdt75(), o.name() + ": FDT_75");
            assertEquals(o.perplexity(), again.perplexity(), o.name() + ": perplexity of y");
        }
        PlanOutcome uniform = result.outcomes().get(1);
        assertEquals(0.2, uniform.sparsity(), 1e-4, "uniform pruning at the target sparsity");
        PlanOutcome fdt = result.outcomes().get(0);
        assertEquals(0.2, fdt.sparsity(), 0.01, "Algorithm 1 reaches the target (up to rounding per matrix)");
        assertTrue(fdt.bytes() > 0 && fdt.bytes() <= result.baseBytes());
    }
}
