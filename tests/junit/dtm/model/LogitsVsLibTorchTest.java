package dtm.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dtm.data.DefaultModel;
import dtm.engine.Engine;
import dtm.engine.Isa;
import dtm.reference.LibTorchLlama;
import dtm.reference.Llama2cConfig;
import dtm.reference.TinyLlama2cWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The engine's logits against the independent LibTorch reference (tests/junit/dtm/reference),
 * which reads the llama2.c file itself and computes in float64: on the default model and on
 * random models written by the test (shared and separate classifier, grouped-query attention),
 * on every kernel path this CPU has.
 *
 * <p>Tolerance: the engine computes in float32 (one fused multiply-add per term, sequential in
 * k), the reference in float64 from the same float32 weights, so the difference is float32
 * rounding accumulated over the layers: we allow 2e-5 relative to the largest |logit| of the
 * position plus 1e-5. Observed: about a fifth of that on stories15M (differences around 6e-5
 * on logits of magnitude ~15), a fiftieth on the random models.
 */
class LogitsVsLibTorchTest {

    private static final double RELATIVE_TOLERANCE = 2e-5;
    private static final double ABSOLUTE_TOLERANCE = 1e-5;

    private static DefaultModel.ModelFiles files;

    @TempDir
    Path dir;

    @BeforeAll
    static void fetch() throws IOException {
        files = DefaultModel.fetch();
    }

    static Stream<Arguments> tinyModels() {
        return Stream.of(
                Arguments.of("shared classifier", new Llama2cConfig(64, 160, 2, 4, 4, 32000, 64, true)),
                Arguments.of("separate classifier", new Llama2cConfig(64, 160, 2, 4, 4, 32000, 64, false)),
                Arguments.of("grouped-query attention", new Llama2cConfig(96, 200, 3, 6, 2, 32000, 48, true)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("tinyModels")
    void randomModelsAgreeWithLibTorch(String name, Llama2cConfig config) throws IOException {
        Path file = TinyLlama2cWriter.writeRandom(dir.resolve("tiny.bin"), config, 17);
        int[][] sequences = {tokens(config.seqLen(), 1), tokens(7, 2), tokens(1, 3)};
        compareAllPaths(file, sequences);
    }

    @Test
    void defaultModelAgreesWithLibTorch() throws IOException {
        try (Model model = Model.load(files.model())) {
            Tokenizer tok = model.tokenizer();
            int[][] sequences = {
                tok.encode("Once upon a time, there was a little girl named Lily.", true),
                tok.encode("The little dog ran to the park and saw a big red ball. He wanted to play "
                        + "with it, but the ball was stuck in a tree.", true),
                tokens(256, 4)};
            compareAllPaths(files.model(), sequences);
        }
    }

    @Test
    void defaultModelGreedyTextEqualsLibTorchGreedy() throws IOException {
        try (Model model = Model.load(files.model());
                LibTorchLlama reference = LibTorchLlama.load(files.model(), LibTorchLlama.Precision.FP64)) {
            int[] prompt = model.tokenizer().encode("Once upon a time", true);
            Generation g = model.generate("Once upon a time", 60);
            assertArrayEquals(reference.greedy(prompt, 60), g.tokens());
        }
    }

    private void compareAllPaths(Path file, int[][] sequences) throws IOException {
        double[] expected;
        try (LibTorchLlama reference = LibTorchLlama.load(file, LibTorchLlama.Precision.FP64)) {
            expected = reference.logitsDouble(sequences);
        }
        try (Model model = Model.load(file, ModelOptions.defaults().withTokenizer(files.tokenizer()))) {
            int vocab = model.config().vocabSize();
            for (Isa isa : Isa.values()) {
                if (isa == Isa.AUTO || !Engine.supports(isa)) {
                    continue;
                }
                try (Session session = model.newSession(SessionOptions.defaults().withIsa(isa).withThreads(2))) {
                    ScoreResult r = session.score(List.of(sequences), true);
                    float[] got = r.logits();
                    double worst = 0;
                    for (int p = 0; p < got.length / vocab; p++) {
                        double scale = 0;
                        for (int v = 0; v < vocab; v++) {
                            scale = Math.max(scale, Math.abs(expected[p * vocab + v]));
                        }
                        double allowed = ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * scale;
                        for (int v = 0; v < vocab; v++) {
                            double diff = Math.abs(got[p * vocab + v] - expected[p * vocab + v]);
                            worst = Math.max(worst, diff / allowed);
                        }
                    }
                    System.out.printf("%s %s: worst |engine - LibTorch fp64| = %.3g x tolerance%n",
                            file.getFileName(), isa, worst);
                    assertTrue(worst <= 1.0, isa + ": worst difference is " + worst
                            + " x the allowed tolerance");
                }
            }
        }
    }

    private static int[] tokens(int n, long seed) {
        java.util.Random random = new java.util.Random(seed);
        int[] t = new int[n];
        t[0] = 1;
        for (int i = 1; i < n; i++) {
            t[i] = 3 + random.nextInt(32000 - 3);
        }
        return t;
    }
}
