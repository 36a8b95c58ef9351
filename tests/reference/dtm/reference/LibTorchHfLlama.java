package dtm.reference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The independent reference for Hugging Face checkpoints: Hugging Face's Llama / Qwen2 forward
 * pass written with LibTorch tensor ops in float64, on the checkpoint as stored (its own
 * safetensors reader, {@link SafetensorsIo}; q/k in Hugging Face's rotate-half layout, so it
 * never permutes rows as the engine does). It shares no code with the engine.
 *
 * <pre>
 *   x = embed[token]
 *   per layer:  xb = rmsnorm(x, w_in)
 *               q, k, v = xb Wq^T + bq, xb Wk^T + bk, xb Wv^T + bv   (biases where present)
 *               q, k = q cos + rotate_half(q) sin,  rotate_half(a | b) = (-b | a) per head
 *               att_h = softmax_causal(q_h k_g^T / sqrt(head_dim)) v_g, g = h / (heads / kv_heads)
 *               x += att Wo^T + bo
 *               xb = rmsnorm(x, w_post);  x += (silu(xb Wg^T + bg) * (xb Wu^T + bu)) Wd^T + bd
 *   logits = rmsnorm(x, w_norm) Whead^T    (Whead = embed when tied)
 * </pre>
 * RoPE frequencies per position as Hugging Face computes them, in float64: theta^(-2i/d);
 * linear: / factor; llama3: Llama 3.1's smooth rescaling; dynamic: beyond the trained context
 * the theta of a sequence of pos + 1 tokens (Hugging Face's one-token decoding).
 */
public final class LibTorchHfLlama implements AutoCloseable {
    private final int dim;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int vocab;
    private final double theta;
    private final double eps;
    private final JsonNode ropeScaling;
    private final int maxPositions;
    private final Map<String, Tensor> weights = new HashMap<>();
    private final List<TensorOptional> norms = new ArrayList<>();

    private LibTorchHfLlama(Path dir) throws IOException {
        JsonNode c = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        dim = c.get("hidden_size").asInt();
        layers = c.get("num_hidden_layers").asInt();
        heads = c.get("num_attention_heads").asInt();
        kvHeads = c.path("num_key_value_heads").asInt(heads);
        headDim = c.path("head_dim").asInt(dim / heads);
        vocab = c.get("vocab_size").asInt();
        theta = c.path("rope_theta").asDouble(10000.0);
        eps = c.path("rms_norm_eps").asDouble(1e-6);
        maxPositions = c.get("max_position_embeddings").asInt();
        ropeScaling = c.get("rope_scaling");
        boolean tied = c.path("tie_word_embeddings").asBoolean(false);

        Map<String, SafetensorsIo.Entry> entries = new HashMap<>();
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.exists(dir.resolve("model.safetensors"))) {
            entries.putAll(SafetensorsIo.read(dir.resolve("model.safetensors")));
        } else {
            Set<String> shards = new HashSet<>();
            for (Iterator<JsonNode> it = new ObjectMapper().readTree(index.toFile()).get("weight_map").elements(); it.hasNext(); ) {
                shards.add(it.next().asText());
            }
            for (String shard : shards) {
                entries.putAll(SafetensorsIo.read(dir.resolve(shard)));
            }
        }
        try (PointerScope scope = new PointerScope()) {
            for (Map.Entry<String, SafetensorsIo.Entry> e : entries.entrySet()) {
                Tensor t = doubles(SafetensorsIo.values(e.getValue()), e.getValue().shape());
                t.retainReference();
                weights.put(e.getKey(), t);
            }
            if (tied) {
                weights.put("lm_head.weight", weights.get("model.embed_tokens.weight"));
            }
        }
    }

    /** Reads a checkpoint directory. */
    public static LibTorchHfLlama load(Path dir) throws IOException {
        return new LibTorchHfLlama(dir);
    }

    /** Logits of every position of one sequence: (tokens.length, vocab) row-major, float64. */
    public double[] logits(int[] tokens) {
        int n = tokens.length;
        double[] out = new double[n * vocab];
        try (PointerScope scope = new PointerScope(); InferenceMode guard = new InferenceMode()) {
            long[] ids = new long[n];
            for (int i = 0; i < n; i++) {
                ids[i] = tokens[i];
            }
            Tensor x = weights.get("model.embed_tokens.weight").index_select(0, torch.tensor(ids));
            double[][] cosSin = rope(n);
            Tensor cos = doubles(cosSin[0], new long[] {n, headDim});
            Tensor sin = doubles(cosSin[1], new long[] {n, headDim});
            double[] maskValues = new double[n * n];
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    maskValues[i * n + j] = Double.NEGATIVE_INFINITY;
                }
            }
            Tensor mask = doubles(maskValues, new long[] {n, n});
            Scalar scale = new Scalar(Math.sqrt(headDim));
            int group = heads / kvHeads;
            for (int l = 0; l < layers; l++) {
                String p = "model.layers." + l + ".";
                Tensor xb = rmsnorm(x, p + "input_layernorm.weight");
                Tensor q = linear(xb, p + "self_attn.q_proj");
                Tensor k = linear(xb, p + "self_attn.k_proj");
                Tensor v = linear(xb, p + "self_attn.v_proj");
                TensorVector outs = new TensorVector();
                for (int h = 0; h < heads; h++) {
                    int g = h / group;
                    Tensor qh = rotate(q.narrow(1, (long) h * headDim, headDim), cos, sin);
                    Tensor kh = rotate(k.narrow(1, (long) g * headDim, headDim), cos, sin);
                    Tensor vh = v.narrow(1, (long) g * headDim, headDim);
                    Tensor scores = qh.matmul(kh.permute(1, 0)).div_(scale).add(mask);
                    outs.push_back(torch.softmax(scores, -1).matmul(vh));
                }
                x = x.add(linear(torch.cat(outs, 1), p + "self_attn.o_proj"));
                Tensor xm = rmsnorm(x, p + "post_attention_layernorm.weight");
                Tensor gate = linear(xm, p + "mlp.gate_proj");
                Tensor up = linear(xm, p + "mlp.up_proj");
                x = x.add(linear(torch.silu(gate).mul(up), p + "mlp.down_proj"));
            }
            Tensor logits = rmsnorm(x, "model.norm.weight").matmul(weights.get("lm_head.weight").permute(1, 0));
            logits.contiguous().data_ptr_double().get(out);
        }
        return out;
    }

    @Override
    public void close() {
        for (Tensor t : new HashSet<>(weights.values())) {
            t.releaseReference();
        }
        weights.clear();
    }

    /** x W^T (+ b) for module "...q_proj" etc. */
    private Tensor linear(Tensor x, String module) {
        Tensor y = x.matmul(weights.get(module + ".weight").permute(1, 0));
        Tensor b = weights.get(module + ".bias");
        return b == null ? y : y.add(b);
    }

    private Tensor rmsnorm(Tensor x, String weight) {
        TensorOptional w = new TensorOptional(weights.get(weight));
        return torch.rms_norm(x, new long[] {dim}, w, new DoubleOptional(eps));
    }

    /** x cos + rotate_half(x) sin for one head's rows (n, head_dim). */
    private Tensor rotate(Tensor x, Tensor cos, Tensor sin) {
        long half = headDim / 2;
        Tensor rotated = torch.cat(new TensorVector(x.narrow(1, half, half).neg(), x.narrow(1, 0, half)), 1);
        return x.mul(cos).add(rotated.mul(sin));
    }

    /** cos and sin (positions, head_dim) of pos * freq_i, each frequency twice (halves). */
    private double[][] rope(int n) {
        int half = headDim / 2;
        double[] cos = new double[n * headDim];
        double[] sin = new double[n * headDim];
        String kind = ropeScaling == null || ropeScaling.isNull() ? "default"
                : ropeScaling.has("rope_type") ? ropeScaling.get("rope_type").asText() : ropeScaling.get("type").asText();
        double factor = kind.equals("default") ? 1 : ropeScaling.get("factor").asDouble();
        for (int pos = 0; pos < n; pos++) {
            double base = theta;
            if (kind.equals("dynamic")) {
                int original = ropeScaling.path("original_max_position_embeddings").asInt(maxPositions);
                if (pos + 1 > original) {
                    base = theta * Math.pow(factor * (pos + 1) / original - (factor - 1), (double) headDim / (headDim - 2));
                }
            }
            for (int i = 0; i < half; i++) {
                double freq = 1.0 / Math.pow(base, 2.0 * i / headDim);
                if (kind.equals("linear")) {
                    freq /= factor;
                } else if (kind.equals("llama3")) {
                    freq = llama3(freq, factor);
                }
                double angle = pos * freq;
                cos[pos * headDim + i] = cos[pos * headDim + i + half] = Math.cos(angle);
                sin[pos * headDim + i] = sin[pos * headDim + i + half] = Math.sin(angle);
            }
        }
        return new double[][] {cos, sin};
    }

    private double llama3(double freq, double factor) {
        double low = ropeScaling.get("low_freq_factor").asDouble();
        double high = ropeScaling.get("high_freq_factor").asDouble();
        double original = ropeScaling.get("original_max_position_embeddings").asDouble();
        double wavelength = 2 * Math.PI / freq;
        if (wavelength < original / high) {
            return freq;
        }
        if (wavelength > original / low) {
            return freq / factor;
        }
        double smooth = (original / wavelength - low) / (high - low);
        return (1 - smooth) * freq / factor + smooth * freq;
    }

    private static Tensor doubles(double[] values, long[] shape) {
        return torch.from_blob(new DoublePointer(values), shape, new TensorOptions(torch.ScalarType.Double)).clone();
    }
}
