package dtm.export;

import dtm.compress.Plan;
import dtm.data.DefaultModel;
import dtm.errors.InvalidArgumentException;
import dtm.errors.UnsupportedFeatureException;
import dtm.model.Component;
import dtm.model.ComponentKind;
import dtm.model.Compression;
import dtm.model.GgufVocabulary;
import dtm.model.Model;
import dtm.model.NativeTokenizer;
import dtm.model.WeightFormat;
import dtm.reference.SafetensorsIo;
import dtm.reference.TinyHfCheckpointWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the GGUF export writes, read back with a reader of the format's own description (GgufReader). */
class GgufExportTest {
    private static final int F32 = 0;
    private static final int Q4_0 = 2;
    private static final int Q8_0 = 8;
    private static final String[] LAYER_TENSORS = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up",
            "ffn_down"};

    @TempDir
    static Path dir;

    private static Model base;

    @BeforeAll
    static void load() throws IOException {
        base = DefaultModel.load();
    }

    @AfterAll
    static void close() {
        base.close();
    }

    @Test
    void baseExportHasLlamaMetadataTokenizerAndTheWeights() throws IOException {
        Path file = dir.resolve("base.gguf");
        ModelExport.Result result = ModelExport.gguf(base, file);
        assertTrue(result.notes().isEmpty());
        GgufReader g = new GgufReader(file);
        Map<String, Object> m = g.metadata;
        assertEquals("llama", m.get("general.architecture"));
        assertEquals(32, g.alignment);
        assertEquals(256L, m.get("llama.context_length"));
        assertEquals(288L, m.get("llama.embedding_length"));
        assertEquals(6L, m.get("llama.block_count"));
        assertEquals(768L, m.get("llama.feed_forward_length"));
        assertEquals(6L, m.get("llama.attention.head_count"));
        assertEquals(6L, m.get("llama.attention.head_count_kv"));
        assertEquals(48L, m.get("llama.rope.dimension_count"));
        assertEquals(10000f, m.get("llama.rope.freq_base"));
        assertEquals(1e-5f, m.get("llama.attention.layer_norm_rms_epsilon"));
        assertEquals(32000L, m.get("llama.vocab_size"));
        assertFalse(m.containsKey("llama.attention.key_length"), "head_dim = dim / heads needs no key_length");

        assertEquals("llama", m.get("tokenizer.ggml.model"));
        List<?> tokens = (List<?>) m.get("tokenizer.ggml.tokens");
        List<?> scores = (List<?>) m.get("tokenizer.ggml.scores");
        List<?> types = (List<?>) m.get("tokenizer.ggml.token_type");
        assertEquals(32000, tokens.size());
        assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), tokens.subList(0, 4));
        assertEquals(List.of(2L, 3L, 3L, 6L), types.subList(0, 4));
        assertEquals("<0x0A>", tokens.get(13));
        assertEquals("\u2581the", tokens.get(278));
        assertEquals(1L, types.get(278));
        NativeTokenizer t = (NativeTokenizer) base.tokenizer();
        for (int id : new int[] {0, 259, 278, 1000, 31999}) {
            assertEquals(t.score(id), scores.get(id), "score of " + id);
        }
        assertEquals(1L, m.get("tokenizer.ggml.bos_token_id"));
        assertEquals(2L, m.get("tokenizer.ggml.eos_token_id"));
        assertEquals(0L, m.get("tokenizer.ggml.unknown_token_id"));
        assertEquals(true, m.get("tokenizer.ggml.add_bos_token"));
        assertEquals(true, m.get("tokenizer.ggml.add_space_prefix"));

        // the tied head is the embedding: no output.weight; every tensor F32 with llama.cpp's shape
        assertEquals(2 + 6 * 9, g.tensors.size());
        assertFalse(g.tensors.containsKey("output.weight"));
        assertArrayEquals(new long[] {288, 32000}, g.tensors.get("token_embd.weight").ne());
        assertArrayEquals(new long[] {288, 768}, g.tensors.get("blk.0.ffn_gate.weight").ne());
        assertArrayEquals(new long[] {768, 288}, g.tensors.get("blk.0.ffn_down.weight").ne());
        g.tensors.values().forEach(info -> assertEquals(F32, info.type(), info.name()));
        for (int l : new int[] {0, 5}) {
            for (int k = 0; k < LAYER_TENSORS.length; k++) {
                int component = l * LAYER_TENSORS.length + k;
                assertArrayEquals(floatBytes(base.componentWeights(component)),
                        g.data("blk." + l + "." + LAYER_TENSORS[k] + ".weight"), base.components().get(component).name());
            }
        }
        assertArrayEquals(floatBytes(base.componentWeights(embedding(base))), g.data("token_embd.weight"));
        assertEquals(result.bytes(), java.nio.file.Files.size(file));
    }

    @Test
    void blockFormatsAreTheBlocksDtmEvaluatedAndInt8BecomesQ8_0() throws IOException {
        Plan plan = new Plan("mixed", List.of(
                new Plan.Entry("model.layers.*.self_attn.*", Compression.parse("q8_0")),
                new Plan.Entry("model.layers.*.mlp.*", Compression.parse("q4_0")),
                new Plan.Entry("model.layers.1.mlp.down_proj", List.of(Compression.parse("magnitude:0.5"),
                        Compression.parse("q4_0")), null),
                new Plan.Entry("model.layers.4.*", Compression.parse("int8")),
                new Plan.Entry("model.layers.5.mlp.*", Compression.parse("magnitude:0.9")),
                new Plan.Entry("lm_head", Compression.parse("q8_0"))));
        try (Model candidate = plan.apply(base, null, 2)) {
            Path candidateFile = dir.resolve("mixed.safetensors");
            candidate.exportCandidate(candidateFile, base);
            Map<String, SafetensorsIo.Entry> stored = SafetensorsIo.read(candidateFile);
            Path file = dir.resolve("mixed.gguf");
            ModelExport.Result result = ModelExport.gguf(candidate, file);
            assertEquals(1, result.notes().size(), result.notes().toString());
            assertTrue(result.notes().get(0).startsWith("7 components (model.layers.4.self_attn.q_proj, ...): int8 "
                    + "has no GGUF type; written as Q8_0"), result.notes().get(0));
            GgufReader g = new GgufReader(file);
            int blocks = 0;
            for (Component c : candidate.components()) {
                if (c.kind() == ComponentKind.EMBEDDING) {
                    continue;
                }
                String name = c.kind() == ComponentKind.LM_HEAD ? "output.weight"
                        : "blk." + c.layer() + "." + LAYER_TENSORS[c.kind().ordinal()] + ".weight";
                GgufReader.TensorInfo info = g.tensors.get(name);
                assertArrayEquals(new long[] {c.cols(), c.rows()}, info.ne(), name);
                switch (c.format()) {
                    case Q8_0, Q4_0 -> {
                        assertEquals(c.format() == WeightFormat.Q8_0 ? Q8_0 : Q4_0, info.type(), name);
                        assertArrayEquals(stored.get(c.name() + ".blocks").bytes(), g.data(name), name);
                        blocks++;
                    }
                    case INT8 -> {
                        assertEquals(Q8_0, info.type(), name);
                        try (Model requantized = candidate.compress(candidate.components().indexOf(c),
                                Compression.parse("q8_0"))) {
                            Path again = dir.resolve("requantized.safetensors");
                            requantized.exportCandidate(again, candidate);
                            assertArrayEquals(SafetensorsIo.read(again).get(c.name() + ".blocks").bytes(), g.data(name),
                                    name + ": Q8_0 of the int8 matrix's effective weights");
                        }
                    }
                    case SPARSE -> {
                        assertEquals(F32, info.type(), name);
                        assertArrayEquals(floatBytes(candidate.componentWeights(candidate.components().indexOf(c))),
                                g.data(name), name + ": dense with its zeros");
                    }
                    default -> throw new AssertionError(name + " is " + c.format());
                }
            }
            assertEquals(5 * 4 + 4 * 3 + 1, blocks, "q8_0 / q4_0 matrices compared with the candidate file");
        }
    }

    @Test
    void aVocabularyOfAnotherSizeIsRefused() {
        GgufVocabulary small = new GgufVocabulary(GgufVocabulary.Kind.SENTENCEPIECE, List.of("a".getBytes()),
                new float[] {0}, new int[] {1}, List.of(), -1, -1, -1, -1, false, false, true, null);
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> base.exportGguf(dir.resolve("x.gguf"), small, null));
        assertTrue(e.getMessage().contains("the GGUF vocabulary has 1 tokens, the model 32000"), e.getMessage());
        assertFalse(java.nio.file.Files.exists(dir.resolve("x.gguf")));
    }

    @Test
    void dynamicRopeScalingIsRefusedAndLinearIsWritten() throws IOException {
        Map<String, Object> dynamic = Map.of("rope_type", "dynamic", "factor", 2.0);
        Path ckpt = TinyHfCheckpointWriter.write(dir.resolve("dynamic"),
                TinyHfCheckpointWriter.Spec.llama().withRopeScaling(dynamic, 64), 7);
        try (Model m = Model.load(ckpt)) {
            UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
                    () -> m.exportGguf(dir.resolve("dynamic.gguf"), vocabulary(m.config().vocabSize()), null));
            assertTrue(e.getMessage().contains("dynamic (NTK) rope scaling has no GGUF form"), e.getMessage());
        }
        Map<String, Object> linear = Map.of("rope_type", "linear", "factor", 4.0);
        Path lin = TinyHfCheckpointWriter.write(dir.resolve("linear"),
                TinyHfCheckpointWriter.Spec.llama().withRopeScaling(linear, 64).withHeads(4, 2, 24), 7);
        try (Model m = Model.load(lin)) {
            m.exportGguf(dir.resolve("linear.gguf"), vocabulary(m.config().vocabSize()), "tiny");
            GgufReader g = new GgufReader(dir.resolve("linear.gguf"));
            assertEquals("linear", g.metadata.get("llama.rope.scaling.type"));
            assertEquals(4f, g.metadata.get("llama.rope.scaling.factor"));
            assertEquals(2L, g.metadata.get("llama.attention.head_count_kv"));
            assertEquals(24L, g.metadata.get("llama.attention.key_length"), "head_dim 24 != 64 / 4");
            assertEquals(24L, g.metadata.get("llama.rope.dimension_count"));
            assertArrayEquals(new long[] {64, 48}, g.tensors.get("blk.0.attn_k.weight").ne());
            assertTrue(g.tensors.containsKey("output.weight"), "an untied head is written");
        }
    }

    /** A vocabulary of n plain tokens (the tiny checkpoints have no tokenizer). */
    private static GgufVocabulary vocabulary(int n) {
        List<byte[]> tokens = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            tokens.add(("t" + i).getBytes(StandardCharsets.UTF_8));
        }
        int[] types = new int[n];
        Arrays.fill(types, GgufVocabulary.NORMAL);
        return new GgufVocabulary(GgufVocabulary.Kind.SENTENCEPIECE, tokens, new float[n], types, List.of(), -1, -1,
                -1, -1, false, false, true, null);
    }

    static int embedding(Model model) {
        for (int i = 0; i < model.components().size(); i++) {
            if (model.components().get(i).kind() == ComponentKind.EMBEDDING) {
                return i;
            }
        }
        throw new AssertionError("no embedding");
    }

    static byte[] floatBytes(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }
}
