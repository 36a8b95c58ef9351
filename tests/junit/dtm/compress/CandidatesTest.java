package dtm.compress;

import dtm.data.DefaultModel;
import dtm.errors.InvalidArgumentException;
import dtm.errors.ModelFormatException;
import dtm.metrics.EvaluationOptions;
import dtm.metrics.EvaluationResult;
import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.metrics.ReferenceOptions;
import dtm.metrics.RunOptions;
import dtm.metrics.SampleMetrics;
import dtm.model.Calibration;
import dtm.model.Component;
import dtm.model.ComponentKind;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.ModelOptions;
import dtm.model.ScoreResult;
import dtm.model.Session;
import dtm.model.SessionOptions;
import dtm.model.WeightFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Candidates made by plans on the default model: what the plan says is what the candidate holds,
 * compressed kernels keep the metric laws (teacher-forced FDT equals the common prefix of free
 * generations), candidate files round-trip bitwise, and bad requests fail clearly.
 */
class CandidatesTest {
    private static final int N = 24;

    @TempDir
    static Path tmp;

    private static Model base;
    private static Reference reference;

    @BeforeAll
    static void setUp() throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        base = Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()));
        reference = Reference.generate(base, PromptSet.defaults(base, 32, 8, 3),
                ReferenceOptions.defaults().withN(N), run());
    }

    @AfterAll
    static void tearDown() {
        if (base != null) {
            base.close();
        }
    }

    private static RunOptions run() {
        return RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(2));
    }

    @Test
    void laterEntriesOverrideEarlierOnesAndWildcardsSkipTheEmbedding() {
        Plan plan = new Plan("", List.of(new Plan.Entry("*", Compression.int8()),
                new Plan.Entry("*.mlp.down_proj", Compression.magnitude(0.5))));
        Map<Integer, List<Compression>> resolved = plan.resolve(base);
        assertEquals(base.components().size() - 1, resolved.size());
        for (Map.Entry<Integer, List<Compression>> e : resolved.entrySet()) {
            Component c = base.components().get(e.getKey());
            assertNotEquals(ComponentKind.EMBEDDING, c.kind());
            assertEquals(c.kind() == ComponentKind.DOWN_PROJ ? Compression.magnitude(0.5) : Compression.int8(),
                    e.getValue().get(0), c.name());
        }
        assertThrows(InvalidArgumentException.class,
                () -> Plan.of("model.layers.9.mlp.up_proj", Compression.int8()).resolve(base));
    }

    @Test
    void aCandidateHoldsWhatItsPlanSays() {
        Plan plan = new Plan("", List.of(new Plan.Entry("model.layers.[0-2].self_attn.*", Compression.int8()),
                new Plan.Entry("*.mlp.up_proj", List.of(Compression.magnitude(0.9), Compression.int8WeightOnly()),
                        null),
                new Plan.Entry("model.layers.5.mlp.gate_proj", Compression.magnitude(0.5))));
        try (Model cand = plan.apply(base, null, 2)) {
            for (int i = 0; i < base.components().size(); i++) {
                Component b = base.components().get(i);
                Component c = cand.components().get(i);
                if (b.layer() >= 0 && b.layer() <= 2 && b.name().contains("self_attn")) {
                    assertEquals(WeightFormat.INT8, c.format(), c.name());
                } else if (b.kind() == ComponentKind.UP_PROJ) {
                    assertEquals(WeightFormat.INT8_WEIGHT, c.format(), c.name());
                    assertTrue(c.sparsity() >= 0.9 - 1e-6, c.name() + " keeps its zeros: " + c.sparsity());
                } else if (b.name().equals("model.layers.5.mlp.gate_proj")) {
                    assertEquals(0.5, c.sparsity(), 1.0 / c.parameterCount(), c.name());
                } else {
                    assertEquals(b, c, "untouched component " + b.name());
                    if (b.kind() != ComponentKind.EMBEDDING) {
                        assertArrayEquals(base.componentWeights(i), cand.componentWeights(i), b.name());
                    }
                }
            }
        }
    }

    @Test
    void compressedKernelsKeepTheFdtLaw() {
        Plan plan = new Plan("", List.of(new Plan.Entry("*", Compression.int8()),
                new Plan.Entry("*.mlp.*", Compression.q4_0()),
                new Plan.Entry("*.self_attn.o_proj", Compression.magnitude(0.8))));
        try (Model cand = plan.apply(base, null, 2);
             Session session = cand.newSession(SessionOptions.defaults().withThreads(2))) {
            EvaluationResult r = reference.evaluate(cand, EvaluationOptions.defaults().withRun(run()));
            int diverged = 0;
            for (SampleMetrics m : r.samples()) {
                int s = m.index();
                int[] free = session.generate(reference.prompts().prompt(s), N);
                int[] y = reference.continuation(s);
                int prefix = 0;
                while (prefix < N && free[prefix] == y[prefix]) {
                    prefix++;
                }
                assertEquals(prefix, m.fdt(), "sample " + s);
                diverged += prefix < N ? 1 : 0;
            }
            assertTrue(diverged > 0, "q4_0 MLPs and 80 % pruned o_proj should change some text");
        }
    }

    @Test
    void candidateFilesRoundTripBitwise() throws IOException {
        Plan plan = new Plan("", List.of(new Plan.Entry("model.layers.0.*", Compression.int8Outlier(6.0)),
                new Plan.Entry("model.layers.1.*", Compression.magnitude(0.95)),
                new Plan.Entry("model.layers.2.*", Compression.q8_0()),
                new Plan.Entry("model.layers.3.*", Compression.nOfM(2, 4)),
                new Plan.Entry("lm_head", Compression.q4_0())));
        Path file = tmp.resolve("cand.safetensors");
        int[] tokens = base.tokenizer().encode("Once upon a time, a little fox", true);
        try (Model cand = plan.apply(base, null, 2)) {
            cand.exportCandidate(file, base);
            try (Model back = base.loadCandidate(file)) {
                assertEquals(cand.components(), back.components());
                ScoreResult a = cand.score(List.of(tokens), true);
                ScoreResult b = back.score(List.of(tokens), true);
                assertArrayEquals(a.logits(), b.logits());
            }
        }
        byte[] bytes = Files.readAllBytes(file);
        Path truncated = tmp.resolve("truncated.safetensors");
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertThrows(ModelFormatException.class, () -> base.loadCandidate(truncated).close());
        try (Model other = Plan.of("model.layers.4.mlp.up_proj", Compression.magnitude(0.5)).apply(base, null, 2)) {
            assertThrows(InvalidArgumentException.class, () -> other.loadCandidate(file).close(),
                    "a candidate file only loads onto the base it was made from");
        }
    }

    @Test
    void wandaPrunesEachRowExactlyWithACalibration() {
        try (Session s = base.newSession(SessionOptions.defaults().withThreads(2));
             Calibration calibration = s.calibrate(reference.prompts().prompts())) {
            assertTrue(calibration.tokens() > 0);
            int index = base.findComponents("model.layers.2.mlp.down_proj")[0];
            try (Model cand = base.compress(Map.of(index, Compression.wanda(0.5)), calibration, 2)) {
                Component c = cand.components().get(index);
                float[] w = cand.componentWeights(index);
                for (int row = 0; row < c.rows(); row++) {
                    int zeros = 0;
                    for (int k = 0; k < c.cols(); k++) {
                        zeros += w[(int) (row * c.cols() + k)] == 0f ? 1 : 0;
                    }
                    assertEquals(Math.round(0.5 * c.cols()), zeros, "row " + row);
                }
            }
            assertThrows(InvalidArgumentException.class,
                    () -> base.compress(Map.of(0, Compression.wanda(0.5)), null, 2).close());
        }
    }

    @Test
    void badRequestsFailWithTheEnginesMessage() {
        int embedding = base.findComponents("model.embed_tokens")[0];
        assertThrows(dtm.errors.UnsupportedFeatureException.class,
                () -> base.compress(embedding, Compression.int8()).close());
        assertThrows(IllegalArgumentException.class, () -> Compression.magnitude(1.01));
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> base.findComponents("model.layers.0.mlp.dwn_proj"));
        assertTrue(e.getMessage().contains("model.layers.0.self_attn.q_proj"), e.getMessage());
    }
}
