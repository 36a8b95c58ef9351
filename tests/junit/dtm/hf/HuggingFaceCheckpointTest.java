package dtm.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dtm.data.DefaultModel;
import dtm.engine.Engine;
import dtm.engine.Isa;
import dtm.errors.ModelFormatException;
import dtm.errors.UnsupportedFeatureException;
import dtm.model.Generation;
import dtm.model.Model;
import dtm.model.ModelSource;
import dtm.model.RopeScaling;
import dtm.model.ScoreResult;
import dtm.model.Session;
import dtm.model.SessionOptions;
import dtm.reference.LibTorchHfLlama;
import dtm.reference.TinyHfCheckpointWriter;
import dtm.reference.TinyHfCheckpointWriter.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hugging Face checkpoints: small random checkpoints written by the test (grouped-query
 * attention, explicit head_dim, Qwen2 and Llama biases, separate head, F16/BF16, shards, each
 * rope_scaling) against the independent LibTorch reference that reads them as stored; and the
 * default model converted with {@link Model#saveHuggingFace} loading back to the same greedy
 * text and bitwise the same logits.
 *
 * <p>Tolerance as in LogitsVsLibTorchTest: the engine computes in float32, the reference in
 * float64 from the same weights: 2e-5 relative to the largest |logit| of a position, plus 1e-5.
 */
class HuggingFaceCheckpointTest {
    private static final double RELATIVE_TOLERANCE = 2e-5;
    private static final double ABSOLUTE_TOLERANCE = 1e-5;

    private static DefaultModel.ModelFiles files;

    @TempDir
    Path dir;

    @BeforeAll
    static void fetch() throws IOException {
        files = DefaultModel.fetch();
    }

    static Stream<Arguments> checkpoints() {
        Spec llama = Spec.llama();
        return Stream.of(
                Arguments.of("llama, grouped-query attention", llama.withHeads(4, 2, 16), 40),
                Arguments.of("explicit head_dim (heads x head_dim != hidden)", llama.withHeads(4, 1, 32), 40),
                Arguments.of("qwen2 q/k/v biases, tied, BF16",
                        llama.withArchitecture("qwen2").withHeads(4, 2, 16).withTied(true).withDtype("BF16"), 40),
                Arguments.of("llama attention and mlp biases, F16", llama.withBiases(true, true).withDtype("F16"), 40),
                Arguments.of("three shards", llama.withHeads(4, 2, 16).withShards(3), 40),
                Arguments.of("rope_scaling linear",
                        llama.withRopeScaling(Map.of("type", "linear", "factor", 2.0), 64), 60),
                Arguments.of("rope_scaling dynamic, past the trained context",
                        llama.withRopeScaling(Map.of("rope_type", "dynamic", "factor", 4.0), 16), 60),
                Arguments.of("rope_scaling llama3",
                        llama.withHeads(2, 1, 32).withRopeScaling(Map.of("rope_type", "llama3", "factor", 8.0,
                                "low_freq_factor", 1.0, "high_freq_factor", 4.0,
                                "original_max_position_embeddings", 16), 64), 60));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("checkpoints")
    void randomCheckpointsAgreeWithLibTorch(String name, Spec spec, int length) throws IOException {
        Path checkpoint = TinyHfCheckpointWriter.write(dir.resolve("ckpt"), spec, 23);
        int[] tokens = randomTokens(length, spec.vocab(), 5);
        double[] expected;
        try (LibTorchHfLlama reference = LibTorchHfLlama.load(checkpoint)) {
            expected = reference.logits(tokens);
        }
        try (Model model = Model.load(checkpoint)) {
            assertEquals(ModelSource.HUGGING_FACE, model.config().source());
            int vocab = model.config().vocabSize();
            for (Isa isa : Isa.values()) {
                if (isa == Isa.AUTO || !Engine.supports(isa)) {
                    continue;
                }
                try (Session session = model.newSession(SessionOptions.defaults().withIsa(isa).withThreads(2))) {
                    float[] got = session.score(List.of(tokens), true).logits();
                    double worst = worstRatio(got, expected, vocab);
                    System.out.printf("%s %s: worst |engine - LibTorch fp64| = %.3g x tolerance%n", name, isa, worst);
                    assertTrue(worst <= 1.0, name + " " + isa + ": worst difference is " + worst + " x the tolerance");
                }
            }
        }
    }

    @Test
    void configReportsWhatTheCheckpointSays() throws IOException {
        Spec spec = Spec.llama().withArchitecture("qwen2").withHeads(4, 2, 16)
                .withRopeScaling(Map.of("rope_type", "llama3", "factor", 8.0, "low_freq_factor", 1.0,
                        "high_freq_factor", 4.0, "original_max_position_embeddings", 16), 64);
        try (Model model = Model.load(TinyHfCheckpointWriter.write(dir.resolve("q"), spec, 1))) {
            assertEquals(2, model.config().kvHeads());
            assertTrue(model.config().qkvBias());
            assertEquals(RopeScaling.Kind.LLAMA3, model.config().ropeScaling().kind());
            assertEquals(16, model.config().ropeScaling().originalMaxPos());
            assertEquals(64, model.config().maxSeqLen());
        }
    }

    @Test
    void unsupportedAndDamagedCheckpointsFailWithTypedErrors() throws IOException {
        Path checkpoint = TinyHfCheckpointWriter.write(dir.resolve("bad"), Spec.llama(), 2);
        Path config = checkpoint.resolve("config.json");
        String text = Files.readString(config);
        Files.writeString(config, text.replace("LlamaForCausalLM", "FalconForCausalLM"));
        UnsupportedFeatureException unsupported = assertThrows(UnsupportedFeatureException.class,
                () -> Model.load(checkpoint));
        assertTrue(unsupported.getMessage().contains("FalconForCausalLM"), unsupported.getMessage());
        Files.writeString(config, text);
        byte[] bytes = Files.readAllBytes(checkpoint.resolve("model.safetensors"));
        Files.write(checkpoint.resolve("model.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length - 4));
        ModelFormatException damaged = assertThrows(ModelFormatException.class, () -> Model.load(checkpoint));
        assertTrue(damaged.getMessage().contains("run past the end"), damaged.getMessage());
    }

    @Test
    void convertedDefaultModelGivesTheSameTextAndBitwiseLogits() throws IOException {
        Path converted = dir.resolve("stories15M-hf");
        try (Model original = Model.load(files.model())) {
            original.saveHuggingFace(converted);
        }
        assertTrue(Files.isRegularFile(converted.resolve("tokenizer.json")));
        try (Model original = Model.load(files.model()); Model hf = Model.load(converted)) {
            assertEquals(ModelSource.HUGGING_FACE, hf.config().source());
            assertEquals(original.config().parameters(), hf.config().parameters());
            for (String prompt : List.of("Once upon a time", "Lily and Ben went to the park. They saw")) {
                Generation a = original.generate(prompt, 100);
                Generation b = hf.generate(prompt, 100);
                assertArrayEquals(a.promptTokens(), b.promptTokens(), "prompt tokens of '" + prompt + "'");
                assertArrayEquals(a.tokens(), b.tokens(), "greedy tokens after '" + prompt + "'");
                assertEquals(a.text(), b.text());
            }
            List<int[]> sequences = List.of(
                    original.tokenizer().encode("The little dog ran to the park and saw a big red ball.", true),
                    randomTokens(256, 32000, 9));
            ScoreResult a = original.score(sequences, true);
            ScoreResult b = hf.score(sequences, true);
            assertArrayEquals(a.logits(), b.logits(), "logits must be bitwise equal");
        }
    }

    private static double worstRatio(float[] got, double[] expected, int vocab) {
        double worst = 0;
        for (int p = 0; p < got.length / vocab; p++) {
            double scale = 0;
            for (int v = 0; v < vocab; v++) {
                scale = Math.max(scale, Math.abs(expected[p * vocab + v]));
            }
            double allowed = ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * scale;
            for (int v = 0; v < vocab; v++) {
                worst = Math.max(worst, Math.abs(got[p * vocab + v] - expected[p * vocab + v]) / allowed);
            }
        }
        return worst;
    }

    private static int[] randomTokens(int n, int vocab, long seed) {
        Random random = new Random(seed);
        int[] t = new int[n];
        t[0] = 1;
        for (int i = 1; i < n; i++) {
            t[i] = 3 + random.nextInt(vocab - 3);
        }
        return t;
    }
}
