package dtm.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dtm.compress.Plan;
import dtm.data.DefaultModel;
import dtm.errors.UnsupportedFeatureException;
import dtm.model.Component;
import dtm.model.ComponentKind;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.ScoreResult;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Hugging Face export: a plain (unquantized) candidate reads back with bitwise its logits; a
 * naive-int8 candidate is written in compressed-tensors' int-quantized layout, checked tensor by
 * tensor against that layout; what the layout cannot hold is refused by name.
 */
class HuggingFaceExportTest {
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

    private static List<int[]> sequences(Model model) {
        return List.of(model.tokenizer().encode("Once upon a time, there was a little dog named Max.", true),
                model.tokenizer().encode("Lily and Ben went to the park. They saw a big, red ball!", true));
    }

    private static void assertSameLogits(Model expected, Model actual, List<int[]> sequences) {
        ScoreResult a = expected.score(sequences, true);
        ScoreResult b = actual.score(sequences, true);
        for (int p = 0; p < a.tokenCount(); p++) {
            assertArrayEquals(a.logitsAt(p), b.logitsAt(p), "logits at position " + p);
        }
    }

    @Test
    void plainExportOfAPrunedCandidateReadsBackWithBitwiseItsLogits() throws IOException {
        Plan plan = new Plan("pruned", List.of(
                new Plan.Entry("model.layers.*.self_attn.*", Compression.parse("magnitude:0.5")),
                new Plan.Entry("model.layers.*.mlp.*", Compression.parse("2:4")),
                new Plan.Entry("model.layers.5.mlp.down_proj", Compression.parse("magnitude:0.9")),
                new Plan.Entry("lm_head", Compression.parse("magnitude:0.3"))));
        try (Model candidate = plan.apply(base, null, 2)) {
            assertEquals(WeightFormat.SPARSE, candidate.components().get(6 * 7 - 1).format());
            Path out = dir.resolve("pruned");
            ModelExport.Result result = ModelExport.huggingFace(candidate, out);
            JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
            assertFalse(config.has("quantization_config"));
            assertFalse(config.path("tie_word_embeddings").asBoolean(), "the pruned head is a matrix of its own");
            assertEquals("float32", config.path("torch_dtype").asText());
            Map<String, SafetensorsIo.Entry> tensors = SafetensorsIo.read(out.resolve("model.safetensors"));
            assertEquals("F32", tensors.get("lm_head.weight").dtype());
            assertEquals(Files.size(out.resolve("config.json")) + Files.size(out.resolve("model.safetensors"))
                    + Files.size(out.resolve("tokenizer.json")) + Files.size(out.resolve("tokenizer_config.json")),
                    result.bytes());
            try (Model reloaded = Model.load(out)) {
                assertSameLogits(candidate, reloaded, sequences(base));
                for (int i = 0; i < candidate.components().size(); i++) {
                    assertEquals(candidate.components().get(i).sparsity(), reloaded.components().get(i).sparsity(),
                            candidate.components().get(i).name());
                }
            }
        }
    }

    @Test
    void plainExportOf16BitCheckpointsKeepsTheirDtypeAndLogits() throws IOException {
        record Case(TinyHfCheckpointWriter.Spec spec, String dtype, String torchDtype) { }
        List<Case> cases = List.of(
                new Case(TinyHfCheckpointWriter.Spec.llama().withDtype("BF16").withTied(true), "BF16", "bfloat16"),
                new Case(TinyHfCheckpointWriter.Spec.llama().withArchitecture("qwen2").withHeads(4, 2, 16)
                        .withDtype("F16"), "F16", "float16"));
        int n = 0;
        for (Case c : cases) {
            Path ckpt = TinyHfCheckpointWriter.write(dir.resolve("half-" + n), c.spec(), 3);
            try (Model half = Model.load(ckpt);
                 Model candidate = Plan.of("model.layers.*", Compression.parse("magnitude:0.6")).apply(half, null, 2)) {
                Path out = dir.resolve("half-pruned-" + n++);
                ModelExport.huggingFace(candidate, out);
                JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
                assertEquals(c.torchDtype(), config.path("torch_dtype").asText());
                assertEquals(c.spec().tied(), config.path("tie_word_embeddings").asBoolean());
                Map<String, SafetensorsIo.Entry> tensors = SafetensorsIo.read(out.resolve("model.safetensors"));
                assertEquals(!c.spec().tied(), tensors.containsKey("lm_head.weight"));
                assertEquals(c.spec().architecture().equals("qwen2"),
                        tensors.containsKey("model.layers.0.self_attn.q_proj.bias"));
                for (Map.Entry<String, SafetensorsIo.Entry> e : tensors.entrySet()) {
                    assertEquals(c.dtype(), e.getValue().dtype(), e.getKey());
                }
                List<int[]> sequences = List.of(new int[] {1, 5, 9, 200, 7, 3}, new int[] {1, 299, 0, 42});
                try (Model reloaded = Model.load(out)) {
                    assertSameLogits(candidate, reloaded, sequences);
                }
            }
        }
    }

    @Test
    void naiveInt8IsWrittenInCompressedTensorsIntQuantizedLayout() throws IOException {
        Plan plan = new Plan("int8 but layer 0's MLP", List.of(
                new Plan.Entry("model.layers.*", Compression.parse("int8")),
                new Plan.Entry("model.layers.0.mlp.*", Compression.parse("magnitude:0.25")),
                new Plan.Entry("model.layers.3.self_attn.*", List.of(Compression.parse("magnitude:0.5"),
                        Compression.parse("int8")), null)));
        try (Model candidate = plan.apply(base, null, 2)) {
            Path out = dir.resolve("w8a8");
            ModelExport.huggingFace(candidate, out);
            JsonNode q = new ObjectMapper().readTree(out.resolve("config.json").toFile()).path("quantization_config");
            assertEquals("compressed-tensors", q.path("quant_method").asText());
            assertEquals("int-quantized", q.path("format").asText());
            assertEquals("compressed", q.path("quantization_status").asText());
            JsonNode group = q.path("config_groups").path("group_0");
            assertEquals(List.of("Linear"), texts(group.path("targets")));
            JsonNode w = group.path("weights");
            assertEquals(8, w.path("num_bits").asInt());
            assertEquals("int", w.path("type").asText());
            assertTrue(w.path("symmetric").asBoolean());
            assertEquals("channel", w.path("strategy").asText());
            assertFalse(w.path("dynamic").asBoolean());
            JsonNode a = group.path("input_activations");
            assertEquals(8, a.path("num_bits").asInt());
            assertEquals("int", a.path("type").asText());
            assertTrue(a.path("symmetric").asBoolean());
            assertTrue(a.path("dynamic").asBoolean());
            assertEquals("token", a.path("strategy").asText());
            assertTrue(group.path("output_activations").isNull());
            assertEquals(new TreeSet<>(List.of("lm_head", "model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj",
                    "model.layers.0.mlp.down_proj")), new TreeSet<>(texts(q.path("ignore"))));

            Map<String, SafetensorsIo.Entry> tensors = SafetensorsIo.read(out.resolve("model.safetensors"));
            Set<String> expected = new TreeSet<>(List.of("model.embed_tokens.weight", "model.norm.weight"));
            int headDim = base.config().headDim();
            for (int i = 0; i < candidate.components().size(); i++) {
                Component c = candidate.components().get(i);
                if (c.kind() == ComponentKind.EMBEDDING || c.kind() == ComponentKind.LM_HEAD) {
                    continue;
                }
                if (c.kind() == ComponentKind.Q_PROJ) {
                    expected.add("model.layers." + c.layer() + ".input_layernorm.weight");
                    expected.add("model.layers." + c.layer() + ".post_attention_layernorm.weight");
                }
                expected.add(c.name() + ".weight");
                SafetensorsIo.Entry weight = tensors.get(c.name() + ".weight");
                assertArrayEquals(new long[] {c.rows(), c.cols()}, weight.shape(), c.name());
                float[] effective = toHfRows(candidate.componentWeights(i), c, headDim);
                if (c.format() != WeightFormat.INT8) {
                    assertEquals("F32", weight.dtype(), c.name());
                    assertArrayEquals(GgufExportTest.floatBytes(effective), weight.bytes(), c.name());
                    continue;
                }
                expected.add(c.name() + ".weight_scale");
                assertEquals("I8", weight.dtype(), c.name());
                SafetensorsIo.Entry scale = tensors.get(c.name() + ".weight_scale");
                assertEquals("F32", scale.dtype(), c.name());
                assertArrayEquals(new long[] {c.rows(), 1}, scale.shape(), c.name());
                // weight = weight_scale * int8, per output channel: dtm's effective weights, bitwise
                ByteBuffer s = ByteBuffer.wrap(scale.bytes()).order(ByteOrder.LITTLE_ENDIAN);
                for (int r = 0; r < c.rows(); r++) {
                    float sr = s.getFloat(4 * r);
                    for (int k = 0; k < c.cols(); k++) {
                        float value = weight.bytes()[(int) (r * c.cols() + k)] * sr;
                        if (Float.floatToIntBits(value) != Float.floatToIntBits(effective[(int) (r * c.cols() + k)])) {
                            throw new AssertionError(c.name() + " row " + r + " col " + k + ": " + value + " vs "
                                    + effective[(int) (r * c.cols() + k)]);
                        }
                    }
                }
            }
            assertEquals(expected, new TreeSet<>(tensors.keySet()), "tensor names (the tied head is not written)");
        }
    }

    @Test
    void whatTheCheckpointCannotHoldIsRefusedByName() {
        record Refusal(List<String> rules, String message) { }
        List<Refusal> refusals = List.of(
                new Refusal(List.of("model.layers.*=q8_0"),
                        "model.layers.0.self_attn.q_proj is q8_0, which no compressed-tensors scheme holds"),
                new Refusal(List.of("model.layers.*=q4_0"), "model.layers.0.self_attn.q_proj is q4_0"),
                new Refusal(List.of("model.layers.*=int8-outlier"), "model.layers.0.self_attn.q_proj is int8-outlier"),
                new Refusal(List.of("model.layers.*=int8-weight"), "model.layers.0.self_attn.q_proj is int8-weight"),
                new Refusal(List.of("model.layers.2.mlp.gate_proj=int8"),
                        "model.layers.2.mlp: int8 on 1 of gate_proj, up_proj; vLLM fuses them"),
                new Refusal(List.of("model.layers.1.self_attn.k_proj=int8", "model.layers.1.self_attn.v_proj=int8"),
                        "model.layers.1.self_attn: int8 on 2 of q_proj, k_proj, v_proj"),
                new Refusal(List.of("lm_head=int8"), "lm_head is int8: vLLM runs the output head unquantized"));
        int n = 0;
        for (Refusal r : refusals) {
            List<Plan.Entry> entries = new ArrayList<>();
            for (String rule : r.rules()) {
                String[] parts = rule.split("=");
                entries.add(new Plan.Entry(parts[0], Compression.parse(parts[1])));
            }
            try (Model candidate = new Plan("", entries).apply(base, null, 2)) {
                Path out = dir.resolve("refused-" + n++);
                UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
                        () -> ModelExport.huggingFace(candidate, out), r.rules().toString());
                assertTrue(e.getMessage().contains(r.message()), e.getMessage());
                assertFalse(Files.exists(out.resolve("model.safetensors")), "nothing written for " + r.rules());
            }
        }
    }

    /** q/k rows from the engine's (llama2.c's) RoPE order to Hugging Face's (docs/huggingface.md). */
    private static float[] toHfRows(float[] engine, Component c, int headDim) {
        if (c.kind() != ComponentKind.Q_PROJ && c.kind() != ComponentKind.K_PROJ) {
            return engine;
        }
        int cols = (int) c.cols();
        float[] hf = new float[engine.length];
        for (int h = 0; h < c.rows() / headDim; h++) {
            for (int i = 0; i < headDim / 2; i++) {
                for (int j = 0; j < 2; j++) {
                    int from = h * headDim + 2 * i + j;
                    int to = h * headDim + j * headDim / 2 + i;
                    System.arraycopy(engine, from * cols, hf, to * cols, cols);
                }
            }
        }
        return hf;
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
