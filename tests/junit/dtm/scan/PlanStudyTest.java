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
import dtm.report.HtmlReport;
import dtm.report.ReportInput;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plan searches on the default model with the engine: a measurement on top of a non-empty
 * plan from cached layer inputs equals a full evaluation of the longer plan against the starting
 * model's own reference; the starting model of a later pruning step measures FDT = N against
 * it (every sample), as does each component at the sparsity it has; measurements the scan has
 * are taken from it unchanged; and every plan the study writes reproduces its reported metrics
 * (against the base's reference) when read back from its JSON and evaluated again.
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
        return fullEvaluation(plan, reference);
    }

    /** The candidate of {@code plan}, evaluated against {@code against} in one full pass. */
    private static CellMeasurement fullEvaluation(Plan plan, Reference against) {
        try (Model candidate = plan.apply(base, null, 2)) {
            EvaluationResult r = against.evaluate(candidate, EvaluationOptions.defaults().withRun(run()));
            return new CellMeasurement(r.fdtQ(75), r.aggregates().tokenPerplexity());
        }
    }

    /** The reference of {@code plan}'s candidate: its own greedy continuations of the base's prompts. */
    private static Reference ownReference(Plan plan) {
        try (Model candidate = plan.apply(base, null, 2)) {
            return Reference.generate(candidate, reference.prompts(), reference.settings().options(), run());
        }
    }

    @Test
    void aMeasurementOnTopOfAPlanEqualsTheFullEvaluationOfTheLongerPlan() {
        Plan current = new Plan("current", List.of(
                new Plan.Entry("model.layers.2.mlp.up_proj", Compression.magnitude(0.3)),
                new Plan.Entry("model.layers.5.mlp.down_proj", Compression.magnitude(0.2))));
        List<String> names = List.of("model.layers.5.mlp.down_proj", "model.layers.4.mlp.gate_proj",
                "model.layers.2.mlp.up_proj");
        Reference own = ownReference(current);
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
                assertEquals(fullEvaluation(new Plan("longer", entries), own), measured, c[0] + " at " + s);
            }
            int evaluations = engine.evaluations();
            engine.measure(current, "model.layers.4.mlp.gate_proj", 0.6);
            assertEquals(evaluations, engine.evaluations(), "a repeated measurement is remembered, not redone");
        }
    }

    @Test
    void aLaterStepIsMeasuredAgainstItsStartingModelsOwnReference() {
        int n = reference.settings().options().n();
        Plan start = new Plan("after step 1", List.of(
                new Plan.Entry("model.layers.4.mlp.up_proj", Compression.magnitude(0.4)),
                new Plan.Entry("model.layers.5.self_attn.o_proj", Compression.magnitude(0.3))));
        List<String> names = List.of("model.layers.4.mlp.up_proj", "model.layers.5.self_attn.o_proj",
                "model.layers.5.mlp.down_proj");
        // Against the base's reference this starting model has drifted: the old measurement's cliff.
        assertTrue(fullEvaluation(start).fdt75() < n, "the starting model should drift from the base");
        // Against its own reference every sample keeps all N tokens and no token diverges.
        try (Model m = start.apply(base, null, 2)) {
            EvaluationResult self = ownReference(start).evaluate(m, EvaluationOptions.defaults().withRun(run()));
            assertEquals(n, self.aggregates().fdt().min(), "FDT = N on every sample");
            assertEquals(0.0, self.aggregates().sdt().max(), "SDT = 0 on every sample");
        }
        try (EngineEvaluator engine = new EngineEvaluator(base, reference, null, null, names, true, run())) {
            assertEquals(n, engine.measure(start).fdt75(), "the step's starting model, the curves' knot at 0");
            // Each component at the sparsity it has (pruned and unpruned ones) is the starting model again.
            assertEquals(n, engine.measure(start, "model.layers.4.mlp.up_proj", 0.4).fdt75());
            assertEquals(n, engine.measure(start, "model.layers.5.self_attn.o_proj", 0.3).fdt75());
            assertEquals(n, engine.measure(start, "model.layers.5.mlp.down_proj", 0.0).fdt75());
            assertEquals(1, engine.referencesGenerated(), "one reference for the step, shared by its measurements");
            // A whole plan is still evaluated against the base's reference.
            assertEquals(fullEvaluation(start).fdt75(), engine.evaluate("start", start).fdt75());
        }
    }

    /**
     * Every plan's text samples: the sample's FDT in a fresh evaluation of the candidate, the base
     * side its reference continuation, the two sides the same up to the first divergent token and
     * different there; one of them the sample at the plan's FDT_75. The report draws the allocation
     * per step, the int8 prefix curve and every sample with its divergent token marked.
     */
    private static void textSamplesShowEachSamplesFirstDivergentToken(PlanStudy.Result result) {
        assertEquals(result.outcomes().stream().map(PlanOutcome::name).toList(), List.copyOf(result.samples().keySet()));
        int marked = 0;
        for (PlanOutcome o : result.outcomes()) {
            List<TextSample> samples = result.samples().get(o.name());
            assertEquals(PlanSamples.COUNT, samples.size(), o.name());
            int[] fdt;
            try (Model candidate = o.plan().apply(base, null, 2)) {
                fdt = reference.evaluate(candidate, EvaluationOptions.defaults().withRun(run())).fdt();
            }
            assertTrue(samples.stream().anyMatch(t -> t.fdt() == o.fdt75() && t.label().contains("FDT_75")), o.name());
            for (TextSample t : samples) {
                String what = o.name() + ", sample " + t.sample();
                assertEquals(fdt[t.sample()], t.fdt(), what);
                assertEquals(base.tokenizer().decode(reference.continuation(t.sample())), String.join("", t.base()),
                        what + ": the base side is the reference's continuation");
                assertTrue(t.candidate().size() >= t.fdt(), what + ": the candidate wrote " + t.candidate().size()
                        + " tokens, fewer than its FDT " + t.fdt());
                assertEquals(t.base().subList(0, t.fdt()), t.candidate().subList(0, t.fdt()), what);
                if (t.fdt() < t.base().size()) {
                    assertTrue(!t.base().get(t.fdt()).equals(t.candidate().get(t.fdt())), what + ": diverges at FDT");
                    marked++;
                }
            }
        }
        String html = HtmlReport.render(new ReportInput("t", result.scan(), result.outcomes(), result.pruning(),
                result.int8(), result.samples(), result.baseBytes(), Map.of()));
        assertEquals(3, count(html, "data-chart=\"allocation\""), "two searches of one step and the uniform plan");
        assertEquals(1, count(html, "data-chart=\"int8-prefixes\""));
        assertEquals(2 * marked, count(html, "<mark>") - 1,
                "both sides of every divergent sample marked (and the note's example)");
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
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
                Int8Search.GUIDED, Int8Search.PERPLEXITY_RANKED, Int8Search.RANDOM_ORDER),
                result.outcomes().stream().map(PlanOutcome::name).toList());
        // Step 1 of a 20 % target measures at 10 % and 30 %: both are scan cells, so the
        // searches evaluated only the plans and the int8 prefixes (two searches of about log2(7) + 1).
        assertTrue(result.evaluations() <= 3 + 2 * (1 + 4) + 1, "evaluations: " + result.evaluations());
        for (PlanOutcome o : result.outcomes()) {
            Plan reread = Plan.fromJson(o.plan().toJson());
            CellMeasurement again = fullEvaluation(reread);
            assertEquals(o.fdt75(), again.fdt75(), o.name() + ": FDT_75");
            assertEquals(o.perplexity(), again.perplexity(), o.name() + ": perplexity of y");
        }
        textSamplesShowEachSamplesFirstDivergentToken(result);
        PlanOutcome uniform = result.outcomes().get(1);
        assertEquals(0.2, uniform.sparsity(), 1e-4, "uniform pruning at the target sparsity");
        PlanOutcome fdt = result.outcomes().get(0);
        assertEquals(0.2, fdt.sparsity(), 0.01, "Algorithm 1 reaches the target (up to rounding per matrix)");
        assertTrue(fdt.bytes() > 0 && fdt.bytes() <= result.baseBytes());
    }
}
