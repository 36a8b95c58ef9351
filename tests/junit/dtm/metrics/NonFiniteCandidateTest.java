package dtm.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import dtm.data.DefaultModel;
import dtm.errors.NonFiniteWeightsException;
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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model with a NaN weight: refused at load by default; loaded without the check, its metrics
 * come out as NaN (null in JSON), never as numbers.
 */
class NonFiniteCandidateTest {
    @TempDir
    static Path tmp;

    private static DefaultModel.ModelFiles files;
    private static Path nanFile;
    private static Model base;
    private static Model nanModel;
    private static Reference reference;

    @BeforeAll
    static void setUp() throws IOException {
        files = DefaultModel.fetch();
        base = Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()));
        nanFile = PerturbedModels.withValue(files.model(), tmp, "nan.bin", PerturbedModels.Matrix.W2, 2, Float.NaN);
        nanModel = Model.load(nanFile, ModelOptions.defaults().withTokenizer(files.tokenizer()).withCheckFinite(false));
        reference = Reference.generate(base, PromptSet.defaults(base, 16, 4, 3), ReferenceOptions.defaults().withN(8),
                run());
    }

    @AfterAll
    static void tearDown() {
        for (Model m : new Model[] {nanModel, base}) {
            if (m != null) {
                m.close();
            }
        }
    }

    private static RunOptions run() {
        return RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(2));
    }

    @Test
    void nonFiniteWeightsAreRefusedByDefault() throws IOException {
        NonFiniteWeightsException e = assertThrows(NonFiniteWeightsException.class,
                () -> Model.load(nanFile, ModelOptions.defaults().withTokenizer(files.tokenizer())));
        assertTrue(e.getMessage().contains(nanFile.toString()), e.getMessage());
        Path inf = PerturbedModels.withValue(files.model(), tmp, "inf.bin", PerturbedModels.Matrix.WQ, 0,
                Float.POSITIVE_INFINITY);
        assertThrows(NonFiniteWeightsException.class, () -> Model.load(inf, ModelOptions.defaults()
                .withTokenizer(files.tokenizer())));
        assertTrue(ModelOptions.defaults().checkFinite());
    }

    @Test
    void theNllOfANaNCandidateIsNaNInEveryOutput() {
        EvaluationResult r = reference.evaluate(nanModel, EvaluationOptions.defaults().withRun(run()));
        Aggregates a = r.aggregates();
        assertEquals(4, a.nll().count());
        assertTrue(Double.isNaN(a.nll().mean()), "NLL " + a.nll());
        assertTrue(Double.isNaN(a.perplexity().median()), "perplexity " + a.perplexity());
        assertTrue(Double.isNaN(a.tokenPerplexity()));
        JsonNode json = MetricsJson.evaluation(r, null, List.of(75.0), false);
        assertEquals(4, json.at("/aggregates/nll/count").asInt());
        assertTrue(json.at("/aggregates/nll/mean").isNull(), json.at("/aggregates/nll").toString());
        assertTrue(json.get("tokenPerplexity").isNull());
        assertEquals("nan", MetricText.table("%.4f", a.nll().mean()));
    }

    /** Needs the engine's KL to propagate NaN (position_stats.cpp; issue 12, item 12). */
    @Test
    void theKlOfANaNCandidateIsNaNNotZero() {
        for (EvaluationOptions o : List.of(EvaluationOptions.defaults().withRun(run()),
                EvaluationOptions.defaults().withRun(run()).withBase(base))) {
            EvaluationResult r = reference.evaluate(nanModel, o);
            assertTrue(r.klMode() != KlMode.NONE);
            assertTrue(Double.isNaN(r.samples().get(0).kl()), r.klMode() + ": KL " + r.samples().get(0).kl());
            assertTrue(Double.isNaN(r.aggregates().kl().mean()), r.klMode() + ": KL " + r.aggregates().kl());
            assertTrue(MetricsJson.evaluation(r, null, List.of(75.0), false).at("/aggregates/kl/mean").isNull());
        }
    }
}
