package dtm.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dtm.data.DefaultModel;
import dtm.reference.LibTorchLlama.Precision;
import dtm.reference.Llama2cFileReader.Part;

/**
 * Checks the LibTorch reference against a plain-Java transcription of llama2.c's run.c
 * ({@link ScalarLlama}), against itself (full-sequence vs KV-cache logits, batched vs single,
 * GQA vs explicitly repeated kv heads, shared vs separate classifier), and on the default
 * model against llama2.c's greedy output for "Once upon a time".
 */
class LibTorchLlamaTest {

    /** llama2.c's tokenization of "Once upon a time": BOS, "Once", " upon", " a", " time". */
    static final int[] ONCE_UPON_A_TIME = {1, 9038, 2501, 263, 931};

    /** stories15M's greedy (temperature 0) continuation of {@link #ONCE_UPON_A_TIME}. */
    static final int[] ONCE_UPON_A_TIME_GREEDY_30 = {
        29892, 727, 471, 263, 2217, 7826, 4257, 365, 2354, 29889,
        2296, 18012, 304, 1708, 5377, 297, 278, 6575, 845, 457,
        29889, 3118, 2462, 29892, 1183, 4446, 263, 4802, 29892, 2654};

    @TempDir
    Path dir;

    static Stream<Arguments> tinyConfigs() {
        return Stream.of(
                Arguments.of("mha-shared", new Llama2cConfig(64, 160, 2, 4, 4, 97, 32, true)),
                Arguments.of("gqa-shared", new Llama2cConfig(64, 160, 2, 8, 2, 97, 32, true)),
                Arguments.of("gqa-separate", new Llama2cConfig(48, 136, 3, 6, 3, 131, 32, false)),
                Arguments.of("mqa-odd", new Llama2cConfig(36, 77, 1, 6, 1, 53, 24, false)));
    }

    // ------------------------------------------------------------------ file reader

    @Test
    void readerParsesHeaderAndOffsets() throws IOException {
        Llama2cConfig c = new Llama2cConfig(32, 80, 2, 4, 2, 50, 16, false);
        Path file = TinyLlama2cWriter.writeRandom(dir.resolve("m.bin"), c, 1);
        assertEquals(Llama2cFileReader.fileSize(c), Files.size(file));
        Map<Part, float[]> expected = TinyLlama2cWriter.randomWeights(c, 1);
        try (Llama2cFileReader r = Llama2cFileReader.open(file)) {
            assertEquals(c, r.config());
            for (Part p : Part.values()) {
                assertArrayEquals(expected.get(p), r.readFloats(p), p.name());
            }
        }
    }

    @Test
    void readerRejectsTruncatedFileAndBadHeader() throws IOException {
        Llama2cConfig c = new Llama2cConfig(32, 80, 1, 4, 4, 50, 16, true);
        Path file = TinyLlama2cWriter.writeRandom(dir.resolve("m.bin"), c, 1);
        byte[] bytes = Files.readAllBytes(file);
        Path truncated = Files.write(dir.resolve("t.bin"), Arrays.copyOf(bytes, bytes.length - 4));
        IOException e = assertThrows(IOException.class, () -> Llama2cFileReader.open(truncated));
        assertTrue(e.getMessage().contains(String.valueOf(bytes.length - 4)), e.getMessage());
        ByteBuffer header = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(4 * 4, 3); // n_kv_heads = 3 does not divide n_heads = 4
        Path bad = Files.write(dir.resolve("b.bin"), bytes);
        e = assertThrows(IOException.class, () -> Llama2cFileReader.open(bad));
        assertTrue(e.getMessage().contains("n_kv_heads"), e.getMessage());
    }

    // ------------------------------------------------------------------ tiny random models

    @ParameterizedTest(name = "{0}")
    @MethodSource("tinyConfigs")
    void tinyModelMatchesScalarTranscriptionOfRunC(String name, Llama2cConfig c)
            throws IOException {
        Path file = TinyLlama2cWriter.writeRandom(dir.resolve(name + ".bin"), c, 7);
        int[] tokens = randomTokens(new Random(3), c.vocabSize(), c.seqLen());
        float[] scalar = new ScalarLlama(file, c.seqLen()).logits(tokens);
        for (Precision p : Precision.values()) {
            try (LibTorchLlama ref = LibTorchLlama.load(file, p)) {
                assertClose(scalar, ref.logits(tokens), 2e-5, name + " " + p);
            }
        }
    }

    @Test
    void gqaEqualsExplicitlyRepeatedKvHeads() throws IOException {
        Llama2cConfig gqa = new Llama2cConfig(64, 96, 2, 8, 2, 61, 20, true);
        Map<Part, float[]> w = TinyLlama2cWriter.randomWeights(gqa, 11);
        Path gqaFile = dir.resolve("gqa.bin");
        TinyLlama2cWriter.write(gqaFile, gqa, w);
        Llama2cConfig mha = new Llama2cConfig(64, 96, 2, 8, 8, 61, 20, true);
        Map<Part, float[]> wm = new java.util.EnumMap<>(w);
        wm.put(Part.WK, repeatKvHeads(gqa, w.get(Part.WK)));
        wm.put(Part.WV, repeatKvHeads(gqa, w.get(Part.WV)));
        Path mhaFile = dir.resolve("mha.bin");
        TinyLlama2cWriter.write(mhaFile, mha, wm);
        int[][] seqs = {randomTokens(new Random(5), 61, 20), randomTokens(new Random(6), 61, 9)};
        try (LibTorchLlama a = LibTorchLlama.load(gqaFile, Precision.FP64);
                LibTorchLlama b = LibTorchLlama.load(mhaFile, Precision.FP64)) {
            assertClose(b.logitsDouble(seqs), a.logitsDouble(seqs), 1e-12, "gqa vs mha");
            assertArrayEquals(b.greedy(seqs, 6), a.greedy(seqs, 6));
        }
    }

    @Test
    void separateClassifierIsReadAndUsed() throws IOException {
        Llama2cConfig shared = new Llama2cConfig(32, 64, 2, 4, 2, 40, 16, true);
        Llama2cConfig separate = new Llama2cConfig(32, 64, 2, 4, 2, 40, 16, false);
        Map<Part, float[]> w = TinyLlama2cWriter.randomWeights(shared, 13);
        Path sharedFile = dir.resolve("shared.bin");
        TinyLlama2cWriter.write(sharedFile, shared, w);
        Map<Part, float[]> ws = new java.util.EnumMap<>(w);
        ws.put(Part.WCLS, w.get(Part.TOKEN_EMBEDDING).clone());
        Path copyFile = dir.resolve("copy.bin");
        TinyLlama2cWriter.write(copyFile, separate, ws);
        float[] other = w.get(Part.TOKEN_EMBEDDING).clone();
        for (int i = 0; i < other.length; i++) {
            other[i] = -other[i];
        }
        ws.put(Part.WCLS, other);
        Path negFile = dir.resolve("neg.bin");
        TinyLlama2cWriter.write(negFile, separate, ws);
        int[] tokens = randomTokens(new Random(2), 40, 16);
        try (LibTorchLlama a = LibTorchLlama.load(sharedFile, Precision.FP64);
                LibTorchLlama b = LibTorchLlama.load(copyFile, Precision.FP64);
                LibTorchLlama n = LibTorchLlama.load(negFile, Precision.FP64)) {
            assertTrue(a.config().sharedClassifier());
            assertFalse(b.config().sharedClassifier());
            double[] la = a.logitsDouble(new int[][] {tokens});
            assertArrayEquals(la, b.logitsDouble(new int[][] {tokens}), 0.0);
            double[] ln = n.logitsDouble(new int[][] {tokens});
            for (int i = 0; i < la.length; i++) {
                assertEquals(-la[i], ln[i], 1e-12);
            }
        }
    }

    @Test
    void incrementalLogitsMatchFullSequence() throws IOException {
        Llama2cConfig c = new Llama2cConfig(64, 160, 2, 8, 2, 97, 40, false);
        Path file = TinyLlama2cWriter.writeRandom(dir.resolve("m.bin"), c, 17);
        int[] tokens = randomTokens(new Random(8), c.vocabSize(), 40);
        for (Precision p : Precision.values()) {
            double tol = p == Precision.FP64 ? 1e-12 : 1e-5;
            try (LibTorchLlama ref = LibTorchLlama.load(file, p)) {
                float[] full = ref.logits(tokens);
                for (int prefill : new int[] {0, 1, 7, 40}) {
                    assertClose(full, ref.logitsIncremental(tokens, prefill), tol,
                            p + " prefill " + prefill);
                }
            }
        }
    }

    @Test
    void batchOfUnequalLengthsMatchesSingleSequences() throws IOException {
        Llama2cConfig c = new Llama2cConfig(48, 128, 2, 6, 2, 89, 32, true);
        Path file = TinyLlama2cWriter.writeRandom(dir.resolve("m.bin"), c, 19);
        Random random = new Random(4);
        int[][] seqs = {randomTokens(random, 89, 5), randomTokens(random, 89, 32),
            randomTokens(random, 89, 1), randomTokens(random, 89, 17)};
        try (LibTorchLlama ref = LibTorchLlama.load(file, Precision.FP64)) {
            double[] batched = ref.logitsDouble(seqs);
            int offset = 0;
            for (int[] s : seqs) {
                double[] single = ref.logitsDouble(new int[][] {s});
                assertClose(single,
                        Arrays.copyOfRange(batched, offset, offset + single.length), 1e-12,
                        "sequence of length " + s.length);
                offset += single.length;
            }
            assertEquals(batched.length, offset);
        }
    }

    @Test
    void batchedGreedyMatchesSingleGreedyAndTeacherForcedArgmax() throws IOException {
        Llama2cConfig c = new Llama2cConfig(64, 160, 2, 8, 4, 97, 48, false);
        Path file = TinyLlama2cWriter.writeRandom(dir.resolve("m.bin"), c, 23);
        Random random = new Random(9);
        int[][] prompts = {randomTokens(random, 97, 3), randomTokens(random, 97, 11),
            randomTokens(random, 97, 1)};
        int n = 20;
        try (LibTorchLlama ref = LibTorchLlama.load(file, Precision.FP64)) {
            int[][] batched = ref.greedy(prompts, n);
            ScalarLlama scalar = new ScalarLlama(file, c.seqLen());
            for (int b = 0; b < prompts.length; b++) {
                assertArrayEquals(ref.greedy(prompts[b], n), batched[b], "prompt " + b);
                assertArrayEquals(scalar.greedy(prompts[b], n), batched[b], "scalar " + b);
                // Teacher forcing the continuation reproduces it (FDT = N against itself).
                int[] seq = concat(prompts[b], Arrays.copyOf(batched[b], n - 1));
                double[] logits = ref.logitsDouble(new int[][] {seq});
                for (int i = 0; i < n; i++) {
                    int row = prompts[b].length - 1 + i;
                    assertEquals(batched[b][i], argmax(logits, row, c.vocabSize()), "step " + i);
                }
            }
        }
    }

    @Test
    void replaceWeightChangesLogitsAndRoundTrips() throws IOException {
        Llama2cConfig c = new Llama2cConfig(32, 64, 2, 4, 2, 40, 16, true);
        Path file = TinyLlama2cWriter.writeRandom(dir.resolve("m.bin"), c, 29);
        int[] tokens = randomTokens(new Random(1), 40, 12);
        try (LibTorchLlama ref = LibTorchLlama.load(file, Precision.FP64);
                Llama2cFileReader reader = Llama2cFileReader.open(file)) {
            assertEquals(3 + 9 * c.nLayers(), ref.componentNames().size());
            String name = "model.layers.1.self_attn.k_proj";
            float[] wk = reader.readFloats(Part.WK);
            float[] layer1 = Arrays.copyOfRange(wk, wk.length / 2, wk.length);
            assertArrayEquals(layer1, ref.weight(name));
            float[] gate = reader.readFloats(Part.W1);
            assertArrayEquals(Arrays.copyOf(gate, gate.length / 2),
                    ref.weight("model.layers.0.mlp.gate_proj"));
            double[] before = ref.logitsDouble(new int[][] {tokens});
            float[] pruned = layer1.clone();
            for (int i = 0; i < pruned.length; i += 2) {
                pruned[i] = 0f;
            }
            ref.replaceWeight(name, pruned);
            assertArrayEquals(pruned, ref.weight(name));
            double[] after = ref.logitsDouble(new int[][] {tokens});
            assertTrue(maxAbsDiff(before, after) > 1e-6, "pruning k_proj changed nothing");
            ref.replaceWeight(name, layer1);
            assertArrayEquals(before, ref.logitsDouble(new int[][] {tokens}), 0.0);
            assertThrows(IllegalArgumentException.class,
                    () -> ref.replaceWeight(name, new float[3]));
            assertThrows(IllegalArgumentException.class, () -> ref.weight("no.such.component"));
        }
    }

    @Test
    void rejectsBadInputAndUseAfterClose() throws IOException {
        Llama2cConfig c = new Llama2cConfig(32, 64, 1, 4, 4, 40, 16, true);
        Path file = TinyLlama2cWriter.writeRandom(dir.resolve("m.bin"), c, 31);
        LibTorchLlama ref = LibTorchLlama.load(file);
        assertThrows(IllegalArgumentException.class, () -> ref.logits(new int[] {1, 40}));
        assertThrows(IllegalArgumentException.class, () -> ref.greedy(new int[0], 3));
        assertEquals(0, ref.greedy(new int[] {1}, 0).length);
        ref.close();
        ref.close();
        assertThrows(IllegalStateException.class, () -> ref.logits(new int[] {1}));
    }

    // ------------------------------------------------------------------ default model

    @Test
    void stories15MGreedyOnceUponATime() throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        Path model = files.model();
        Vocab vocab = Vocab.read(files.tokenizer(), 32000);
        assertArrayEquals(ONCE_UPON_A_TIME, new int[] {1, vocab.id(" Once"), vocab.id(" upon"),
            vocab.id(" a"), vocab.id(" time")}, "ids of the prompt's pieces");
        try (LibTorchLlama ref = LibTorchLlama.load(model)) {
            int[] greedy = ref.greedy(ONCE_UPON_A_TIME, 30);
            System.out.println("LibTorch greedy ids: " + Arrays.toString(greedy));
            System.out.println("LibTorch greedy text: "
                    + vocab.decode(concat(ONCE_UPON_A_TIME, greedy)));
            assertArrayEquals(ONCE_UPON_A_TIME_GREEDY_30, greedy);
            assertArrayEquals(greedy, new ScalarLlama(model, 64).greedy(ONCE_UPON_A_TIME, 30),
                    "plain-Java transcription of run.c");
        }
    }

    @Test
    void stories15MPathsAndPrecisionsAgree() throws IOException {
        Path model = DefaultModel.path();
        int[] seq = concat(ONCE_UPON_A_TIME, ONCE_UPON_A_TIME_GREEDY_30);
        float[] scalar = new ScalarLlama(model, seq.length).logits(seq);
        try (LibTorchLlama fp32 = LibTorchLlama.load(model);
                LibTorchLlama fp64 = LibTorchLlama.load(model, Precision.FP64)) {
            float[] full = fp32.logits(seq);
            float[] exact = fp64.logits(seq);
            report("fp32 vs fp64", exact, full);
            report("scalar run.c vs fp64", exact, scalar);
            assertClose(exact, full, 1e-5, "fp32 vs fp64");
            assertClose(exact, scalar, 1e-5, "scalar vs fp64");
            assertClose(full, fp32.logitsIncremental(seq, 0), 1e-5, "fp32 incremental");
            assertClose(full, fp32.logitsIncremental(seq, 5), 1e-5, "fp32 prefill 5");
            assertClose(exact, fp64.logitsIncremental(seq, 0), 1e-12, "fp64 incremental");
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Repeats each kv head's rows n_heads/n_kv_heads times: (L, kv_dim, dim) -> (L, dim, dim). */
    static float[] repeatKvHeads(Llama2cConfig c, float[] w) {
        int hs = c.headSize();
        int dim = c.dim();
        float[] out = new float[c.nLayers() * dim * dim];
        for (int l = 0; l < c.nLayers(); l++) {
            for (int h = 0; h < c.nHeads(); h++) {
                int g = h / c.kvGroup();
                System.arraycopy(w, (l * c.kvDim() + g * hs) * dim, out,
                        (l * dim + h * hs) * dim, hs * dim);
            }
        }
        return out;
    }

    static int[] randomTokens(Random random, int vocab, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = random.nextInt(vocab);
        }
        return t;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static int argmax(double[] logits, int row, int vocab) {
        int best = 0;
        for (int v = 1; v < vocab; v++) {
            if (logits[row * vocab + v] > logits[row * vocab + best]) {
                best = v;
            }
        }
        return best;
    }

    /** Asserts |expected - actual| <= tol * max(1, max|expected|) element-wise. */
    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertClose(toDouble(expected), toDouble(actual), tol, what);
    }

    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 1.0;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        double diff = maxAbsDiff(expected, actual);
        assertTrue(diff <= tol * scale, what + ": max |diff| " + diff + " > " + tol + " * "
                + scale);
    }

    static void report(String what, float[] expected, float[] actual) {
        double scale = 0;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        System.out.printf("%s: max |diff| %.3g (max |logit| %.3g)%n", what,
                maxAbsDiff(toDouble(expected), toDouble(actual)), scale);
    }

    static double maxAbsDiff(double[] a, double[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    static double[] toDouble(float[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }

    /** llama2.c's tokenizer.bin: int32 max_token_length, then per token float, int32, bytes. */
    record Vocab(List<byte[]> pieces) {

        static Vocab read(Path file, int vocabSize) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            b.getInt();
            List<byte[]> pieces = new ArrayList<>(vocabSize);
            for (int i = 0; i < vocabSize; i++) {
                b.getFloat();
                byte[] piece = new byte[b.getInt()];
                b.get(piece);
                pieces.add(piece);
            }
            return new Vocab(pieces);
        }

        /** Id of a piece; the pieces of words carry a leading space (sentencepiece's '▁'). */
        int id(String piece) {
            byte[] wanted = piece.getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < pieces.size(); i++) {
                if (Arrays.equals(pieces.get(i), wanted)) {
                    return i;
                }
            }
            throw new IllegalArgumentException("no piece '" + piece + "'");
        }

        /** Decodes like run.c: no leading space after BOS, raw bytes for <0xXX> pieces. */
        String decode(int[] tokens) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < tokens.length; i++) {
                byte[] p = pieces.get(tokens[i]);
                String s = new String(p, StandardCharsets.UTF_8);
                if (s.length() == 6 && s.startsWith("<0x") && s.endsWith(">")) {
                    out.write(Integer.parseInt(s.substring(3, 5), 16));
                } else if (i > 0 && tokens[i - 1] == 1 && p.length > 0 && p[0] == ' ') {
                    out.write(p, 1, p.length - 1);
                } else if (tokens[i] > 2) {
                    out.write(p, 0, p.length);
                }
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }
}
