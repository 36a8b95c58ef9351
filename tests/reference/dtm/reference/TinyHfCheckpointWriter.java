package dtm.reference;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes small Hugging Face checkpoints with random weights (config.json, model.safetensors or
 * shards with model.safetensors.index.json), for tests that compare the engine with {@link
 * LibTorchHfLlama} on the options of the Llama family: grouped-query attention, explicit
 * head_dim, biases (Qwen2's q/k/v, Llama's attention_bias and mlp_bias), separate head,
 * F32/F16/BF16, sharding and rope_scaling.
 *
 * <p>Weights are Gaussian, deterministic for a spec and seed: matrices with standard deviation
 * 1/sqrt(fan_in), the embedding with 1, biases with 0.1, norm weights 1 + 0.1 N(0, 1). q/k rows
 * are in Hugging Face's rotate-half layout by construction (they are random).
 */
public final class TinyHfCheckpointWriter {

    /**
     * What to write.
     *
     * @param architecture "llama" or "qwen2" (q/k/v biases)
     * @param ropeScaling  the rope_scaling object of config.json, or null
     */
    public record Spec(String architecture, int dim, int hidden, int layers, int heads, int kvHeads, int headDim,
                       int vocab, int maxPositions, boolean tied, boolean attentionBias, boolean mlpBias,
                       String dtype, int shards, Map<String, Object> ropeScaling) {

        /** A small Llama: dim 64, 2 layers, 4 heads of 16, no GQA, F32, one file. */
        public static Spec llama() {
            return new Spec("llama", 64, 160, 2, 4, 4, 16, 300, 64, false, false, false, "F32", 1, null);
        }

        public Spec withHeads(int heads, int kvHeads, int headDim) {
            return new Spec(architecture, dim, hidden, layers, heads, kvHeads, headDim, vocab, maxPositions, tied,
                    attentionBias, mlpBias, dtype, shards, ropeScaling);
        }

        public Spec withArchitecture(String architecture) {
            return new Spec(architecture, dim, hidden, layers, heads, kvHeads, headDim, vocab, maxPositions, tied,
                    attentionBias, mlpBias, dtype, shards, ropeScaling);
        }

        public Spec withBiases(boolean attention, boolean mlp) {
            return new Spec(architecture, dim, hidden, layers, heads, kvHeads, headDim, vocab, maxPositions, tied,
                    attention, mlp, dtype, shards, ropeScaling);
        }

        public Spec withTied(boolean tied) {
            return new Spec(architecture, dim, hidden, layers, heads, kvHeads, headDim, vocab, maxPositions, tied,
                    attentionBias, mlpBias, dtype, shards, ropeScaling);
        }

        public Spec withDtype(String dtype) {
            return new Spec(architecture, dim, hidden, layers, heads, kvHeads, headDim, vocab, maxPositions, tied,
                    attentionBias, mlpBias, dtype, shards, ropeScaling);
        }

        public Spec withShards(int shards) {
            return new Spec(architecture, dim, hidden, layers, heads, kvHeads, headDim, vocab, maxPositions, tied,
                    attentionBias, mlpBias, dtype, shards, ropeScaling);
        }

        public Spec withRopeScaling(Map<String, Object> ropeScaling, int maxPositions) {
            return new Spec(architecture, dim, hidden, layers, heads, kvHeads, headDim, vocab, maxPositions, tied,
                    attentionBias, mlpBias, dtype, shards, ropeScaling);
        }

        boolean qkvBias() {
            return architecture.equals("qwen2") || attentionBias;
        }

        boolean oBias() {
            return architecture.equals("llama") && attentionBias;
        }
    }

    private TinyHfCheckpointWriter() {}

    /** Writes the checkpoint into {@code dir} (created); returns {@code dir}. */
    public static Path write(Path dir, Spec spec, long seed) throws IOException {
        Files.createDirectories(dir);
        Random random = new Random(seed);
        Map<String, SafetensorsIo.Entry> tensors = new LinkedHashMap<>();
        long q = (long) spec.heads() * spec.headDim();
        long kv = (long) spec.kvHeads() * spec.headDim();
        put(tensors, spec, "model.embed_tokens.weight", new long[] {spec.vocab(), spec.dim()}, random, 1.0, 0);
        for (int l = 0; l < spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            put(tensors, spec, p + "input_layernorm.weight", new long[] {spec.dim()}, random, 0.1, 1);
            put(tensors, spec, p + "post_attention_layernorm.weight", new long[] {spec.dim()}, random, 0.1, 1);
            matrix(tensors, spec, p + "self_attn.q_proj", q, spec.dim(), spec.qkvBias(), random);
            matrix(tensors, spec, p + "self_attn.k_proj", kv, spec.dim(), spec.qkvBias(), random);
            matrix(tensors, spec, p + "self_attn.v_proj", kv, spec.dim(), spec.qkvBias(), random);
            matrix(tensors, spec, p + "self_attn.o_proj", spec.dim(), q, spec.oBias(), random);
            matrix(tensors, spec, p + "mlp.gate_proj", spec.hidden(), spec.dim(), spec.mlpBias(), random);
            matrix(tensors, spec, p + "mlp.up_proj", spec.hidden(), spec.dim(), spec.mlpBias(), random);
            matrix(tensors, spec, p + "mlp.down_proj", spec.dim(), spec.hidden(), spec.mlpBias(), random);
        }
        put(tensors, spec, "model.norm.weight", new long[] {spec.dim()}, random, 0.1, 1);
        if (!spec.tied()) {
            put(tensors, spec, "lm_head.weight", new long[] {spec.vocab(), spec.dim()}, random,
                    1 / Math.sqrt(spec.dim()), 0);
        }
        writeTensors(dir, tensors, spec.shards());
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config(spec));
        return dir;
    }

    private static ObjectNode config(Spec spec) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        boolean qwen = spec.architecture().equals("qwen2");
        c.putArray("architectures").add(qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
        c.put("model_type", spec.architecture());
        c.put("hidden_size", spec.dim());
        c.put("intermediate_size", spec.hidden());
        c.put("num_hidden_layers", spec.layers());
        c.put("num_attention_heads", spec.heads());
        c.put("num_key_value_heads", spec.kvHeads());
        c.put("head_dim", spec.headDim());
        c.put("vocab_size", spec.vocab());
        c.put("max_position_embeddings", spec.maxPositions());
        c.put("rope_theta", 10000.0);
        c.put("rms_norm_eps", 1e-5);
        c.put("tie_word_embeddings", spec.tied());
        c.put("hidden_act", "silu");
        if (!qwen) {
            c.put("attention_bias", spec.attentionBias());
            c.put("mlp_bias", spec.mlpBias());
        } else {
            c.put("use_sliding_window", false);
            c.put("sliding_window", 8);
        }
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        if (spec.ropeScaling() != null) {
            c.set("rope_scaling", new ObjectMapper().valueToTree(spec.ropeScaling()));
        } else {
            c.putNull("rope_scaling");
        }
        return c;
    }

    private static void matrix(Map<String, SafetensorsIo.Entry> tensors, Spec spec, String module, long rows, long cols,
            boolean bias, Random random) {
        put(tensors, spec, module + ".weight", new long[] {rows, cols}, random, 1 / Math.sqrt(cols), 0);
        if (bias) {
            put(tensors, spec, module + ".bias", new long[] {rows}, random, 0.1, 0);
        }
    }

    private static void put(Map<String, SafetensorsIo.Entry> tensors, Spec spec, String name, long[] shape,
            Random random, double std, double mean) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] values = new float[Math.toIntExact(n)];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (mean + std * random.nextGaussian());
        }
        tensors.put(name, SafetensorsIo.encode(spec.dtype(), shape, values));
    }

    private static void writeTensors(Path dir, Map<String, SafetensorsIo.Entry> tensors, int shards) throws IOException {
        if (shards <= 1) {
            SafetensorsIo.write(dir.resolve("model.safetensors"), tensors);
            return;
        }
        List<Map<String, SafetensorsIo.Entry>> parts = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            parts.add(new LinkedHashMap<>());
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", 0);
        ObjectNode map = index.putObject("weight_map");
        int i = 0;
        for (Map.Entry<String, SafetensorsIo.Entry> e : tensors.entrySet()) {
            int s = i++ * shards / tensors.size();
            parts.get(s).put(e.getKey(), e.getValue());
            map.put(e.getKey(), shardName(s, shards));
        }
        for (int s = 0; s < shards; s++) {
            SafetensorsIo.write(dir.resolve(shardName(s, shards)), parts.get(s));
        }
        json.writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
    }

    private static String shardName(int s, int shards) {
        return String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
    }
}
