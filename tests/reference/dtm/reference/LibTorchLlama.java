package dtm.reference;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import dtm.reference.Llama2cFileReader.Part;

/**
 * The independent reference: a Llama-2 forward pass written with LibTorch tensor ops (JavaCPP
 * pytorch preset), with the semantics of llama2.c's run.c. It shares no code with the dtm
 * engine and reads model files with its own {@link Llama2cFileReader}.
 *
 * <p>The math, for each sequence and position (rmsnorm(x, w) = w * x / sqrt(mean(x^2) + 1e-5)):
 * <pre>
 *   x = embedding[token]
 *   per layer:  xb = rmsnorm(x, w_att)
 *               q, k, v = Wq xb, Wk xb, Wv xb;  RoPE on q and k (pairs 2i, 2i+1 of each head
 *                 rotated by pos / 10000^(2i/head_size))
 *               att_h = softmax_causal(q_h . k_g / sqrt(head_size)) v_g,  g = h / (n_heads/n_kv)
 *               x += Wo att
 *               xb = rmsnorm(x, w_ffn);  x += W2 (silu(W1 xb) * (W3 xb))
 *   logits = Wcls rmsnorm(x, w_final)
 * </pre>
 * RoPE angles are computed in float64 from the position and then rounded to the compute type.
 *
 * <p>Weights are copied at load time into LibTorch memory of the chosen {@link Precision};
 * nothing stays mapped. Every call runs inside its own {@link PointerScope} and
 * {@link InferenceMode}, so temporaries are freed when the call returns. Calls share no
 * mutable state except the weights, which only {@link #replaceWeight} changes: forward calls
 * may run on several threads at once, but not while a weight is being replaced. The LibTorch
 * thread count is process-wide: see {@link #setThreads}.
 *
 * <p>Weights can be read and replaced by component name (the Hugging Face names that dtm uses,
 * e.g. {@code model.layers.0.self_attn.q_proj}), in llama2.c's layout and RoPE convention.
 */
public final class LibTorchLlama implements AutoCloseable {

    /** The floating-point type that weights are stored in and all arithmetic runs in. */
    public enum Precision {
        /** float32, like llama2.c and the engine. */
        FP32(torch.ScalarType.Float),
        /** float64: a tighter yardstick (the file's fp32 weights are exact in it). */
        FP64(torch.ScalarType.Double);

        private final torch.ScalarType scalarType;

        Precision(torch.ScalarType scalarType) {
            this.scalarType = scalarType;
        }
    }

    private static final double RMS_EPS = 1e-5;
    private static final double ROPE_THETA = 10000.0;

    static {
        setThreads(Runtime.getRuntime().availableProcessors());
    }

    private final Llama2cConfig config;
    private final Precision precision;
    private final torch.ScalarType dtype;

    // Weights. q, k, v and gate, up are stored fused so that each needs one GEMM; the
    // per-component tensors are views of row ranges of the fused ones.
    private final Tensor tokenEmbedding; // (vocab, dim)
    private final Tensor[] rmsAtt;       // [layer] (dim)
    private final Tensor[] wqkv;         // [layer] (q_dim + 2*kv_dim, dim): rows wq | wk | wv
    private final Tensor[] wq;           // [layer] (q_dim, dim), q_dim = n_heads*head_size
    private final Tensor[] wk;           // [layer] (kv_dim, dim), kv_dim = n_kv_heads*head_size
    private final Tensor[] wv;           // [layer] (kv_dim, dim)
    private final Tensor[] wo;           // [layer] (dim, q_dim)
    private final Tensor[] rmsFfn;       // [layer] (dim)
    private final Tensor[] w13;          // [layer] (2*hidden_dim, dim): rows w1 | w3
    private final Tensor[] w1;           // [layer] (hidden_dim, dim), gate
    private final Tensor[] w3;           // [layer] (hidden_dim, dim), up
    private final Tensor[] w2;           // [layer] (dim, hidden_dim), down
    private final Tensor rmsFinal;       // (dim)
    private final Tensor classifier;     // (vocab, dim); the embedding itself when shared

    // RoPE, per dimension d of a head (pair i = d/2), float64:
    private final Tensor ropeFreq;       // (head_size) 10000^(-2i/head_size)
    private final Tensor ropeSign;       // (head_size) -1 for even d, +1 for odd d

    // Arguments built once: norm weights wrapped for torch.rms_norm, and constants.
    private final TensorOptional[] normAtt;  // [layer] rmsAtt
    private final TensorOptional[] normFfn;  // [layer] rmsFfn
    private final TensorOptional normFinal;  // rmsFinal
    private final long[] normShape;          // {dim}
    private final DoubleOptional rmsEps;     // 1e-5
    private final Scalar attentionScale;     // sqrt(head_size)
    private final Scalar minusInfinity;

    private final Map<String, Tensor> components; // name -> one of the tensors above
    private final List<Pointer> owned;            // released by close()
    private volatile boolean closed;

    private LibTorchLlama(Llama2cFileReader reader, Precision precision) throws IOException {
        this.config = reader.config();
        this.precision = precision;
        this.dtype = precision.scalarType;
        int layers = config.nLayers();
        int hs = config.headSize();
        long qDim = (long) config.nHeads() * hs;
        long kvDim = config.kvDim();
        long hidden = config.hiddenDim();
        List<Pointer> keep = new ArrayList<>();
        try (PointerScope scope = new PointerScope()) {
            tokenEmbedding = keep(keep, load(reader, Part.TOKEN_EMBEDDING));
            rmsAtt = perLayer(keep, load(reader, Part.RMS_ATT), layers);
            wqkv = new Tensor[layers];
            wq = new Tensor[layers];
            wk = new Tensor[layers];
            wv = new Tensor[layers];
            Tensor q = load(reader, Part.WQ);
            Tensor k = load(reader, Part.WK);
            Tensor v = load(reader, Part.WV);
            for (int l = 0; l < layers; l++) {
                wqkv[l] = keep(keep, torch.cat(
                        new TensorVector(q.select(0, l), k.select(0, l), v.select(0, l)), 0));
                wq[l] = keep(keep, wqkv[l].narrow(0, 0, qDim));
                wk[l] = keep(keep, wqkv[l].narrow(0, qDim, kvDim));
                wv[l] = keep(keep, wqkv[l].narrow(0, qDim + kvDim, kvDim));
            }
            q.close();
            k.close();
            v.close();
            wo = perLayer(keep, load(reader, Part.WO), layers);
            rmsFfn = perLayer(keep, load(reader, Part.RMS_FFN), layers);
            w13 = new Tensor[layers];
            w1 = new Tensor[layers];
            w3 = new Tensor[layers];
            Tensor gate = load(reader, Part.W1);
            Tensor up = load(reader, Part.W3);
            for (int l = 0; l < layers; l++) {
                w13[l] = keep(keep, torch.cat(
                        new TensorVector(gate.select(0, l), up.select(0, l)), 0));
                w1[l] = keep(keep, w13[l].narrow(0, 0, hidden));
                w3[l] = keep(keep, w13[l].narrow(0, hidden, hidden));
            }
            gate.close();
            up.close();
            w2 = perLayer(keep, load(reader, Part.W2), layers);
            rmsFinal = keep(keep, load(reader, Part.RMS_FINAL));
            classifier = config.sharedClassifier()
                    ? tokenEmbedding
                    : keep(keep, load(reader, Part.WCLS));
            double[] freq = new double[hs];
            double[] sign = new double[hs];
            for (int d = 0; d < hs; d++) {
                freq[d] = 1.0 / Math.pow(ROPE_THETA, (2.0 * (d / 2)) / hs);
                sign[d] = d % 2 == 0 ? -1.0 : 1.0;
            }
            ropeFreq = keep(keep, doubleTensor(freq));
            ropeSign = keep(keep, doubleTensor(sign));
            normAtt = new TensorOptional[layers];
            normFfn = new TensorOptional[layers];
            for (int l = 0; l < layers; l++) {
                normAtt[l] = keep(keep, new TensorOptional(rmsAtt[l]));
                normFfn[l] = keep(keep, new TensorOptional(rmsFfn[l]));
            }
            normFinal = keep(keep, new TensorOptional(rmsFinal));
            normShape = new long[] {config.dim()};
            rmsEps = keep(keep, new DoubleOptional(RMS_EPS));
            attentionScale = keep(keep, new Scalar(Math.sqrt(hs)));
            minusInfinity = keep(keep, new Scalar(Double.NEGATIVE_INFINITY));
        } catch (IOException | RuntimeException e) {
            for (Pointer p : keep) {
                p.close();
            }
            throw e;
        }
        owned = keep;
        Map<String, Tensor> byName = new LinkedHashMap<>();
        byName.put("model.embed_tokens", tokenEmbedding);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            byName.put(p + "input_layernorm", rmsAtt[l]);
            byName.put(p + "self_attn.q_proj", wq[l]);
            byName.put(p + "self_attn.k_proj", wk[l]);
            byName.put(p + "self_attn.v_proj", wv[l]);
            byName.put(p + "self_attn.o_proj", wo[l]);
            byName.put(p + "post_attention_layernorm", rmsFfn[l]);
            byName.put(p + "mlp.gate_proj", w1[l]);
            byName.put(p + "mlp.down_proj", w2[l]);
            byName.put(p + "mlp.up_proj", w3[l]);
        }
        byName.put("model.norm", rmsFinal);
        byName.put("lm_head", classifier);
        components = Collections.unmodifiableMap(byName);
    }

    /** Loads a llama2.c file in {@link Precision#FP32}. */
    public static LibTorchLlama load(Path file) throws IOException {
        return load(file, Precision.FP32);
    }

    /** Loads a llama2.c file, converting its weights to the given precision. */
    public static LibTorchLlama load(Path file, Precision precision) throws IOException {
        try (Llama2cFileReader reader = Llama2cFileReader.open(file)) {
            return new LibTorchLlama(reader, precision);
        }
    }

    /** Sets LibTorch's intra-op thread count (process-wide; also used by its BLAS). */
    public static void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        torch.set_num_threads(threads);
    }

    /** LibTorch's current intra-op thread count. */
    public static int threads() {
        return torch.get_num_threads();
    }

    public Llama2cConfig config() {
        return config;
    }

    public Precision precision() {
        return precision;
    }

    /** Component names accepted by {@link #weight} and {@link #replaceWeight}, in file order. */
    public Set<String> componentNames() {
        return components.keySet();
    }

    /** Logits of every position of one sequence: (tokens.length, vocab) row-major. */
    public float[] logits(int[] tokens) {
        return logits(new int[][] {tokens});
    }

    /**
     * Logits of every position of a batch of sequences (lengths may differ), computed in one
     * batched pass: (sum of lengths, vocab) row-major, sequence after sequence.
     */
    public float[] logits(int[][] sequences) {
        return (float[]) logitsArray(sequences, false);
    }

    /** Like {@link #logits(int[][])} but without rounding to float (useful with FP64). */
    public double[] logitsDouble(int[][] sequences) {
        return (double[]) logitsArray(sequences, true);
    }

    /**
     * Logits of every position of one sequence computed through the KV cache: the first
     * {@code prefill} tokens in one pass, then one token per pass. Same layout as
     * {@link #logits(int[])}; used to check that both paths agree.
     */
    public float[] logitsIncremental(int[] tokens, int prefill) {
        if (prefill < 0 || prefill > tokens.length) {
            throw new IllegalArgumentException(
                    "prefill " + prefill + " is outside [0, " + tokens.length + "]");
        }
        checkTokens(tokens);
        ensureOpen();
        int vocab = config.vocabSize();
        float[] out = new float[Math.multiplyExact(tokens.length, vocab)];
        try (PointerScope outer = new PointerScope(); InferenceMode guard = new InferenceMode()) {
            KvCache cache = new KvCache(1, Math.max(1, tokens.length));
            int done = 0;
            while (done < tokens.length) {
                int t = done < prefill ? prefill : 1;
                try (PointerScope step = new PointerScope()) {
                    long[] tok = new long[t];
                    long[] pos = new long[t];
                    for (int i = 0; i < t; i++) {
                        tok[i] = tokens[done + i];
                        pos[i] = done + i;
                    }
                    Tensor hidden = forward(tok, pos, 1, t, cache);
                    Tensor logits = classify(hidden, t).to(torch.ScalarType.Float).contiguous();
                    logits.data_ptr_float().get(out, done * vocab, t * vocab);
                }
                done += t;
            }
        }
        return out;
    }

    /** Greedy continuation (ties to the lowest id) of one prompt: the n new tokens. */
    public int[] greedy(int[] prompt, int n) {
        return greedy(new int[][] {prompt}, n)[0];
    }

    /**
     * Greedy continuations of a batch of prompts (lengths may differ), decoded together with a
     * KV cache: one batched prefill, then one batched pass per new token. Returns n new tokens
     * per prompt; generation does not stop at EOS.
     */
    public int[][] greedy(int[][] prompts, int n) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be non-negative, got " + n);
        }
        int batch = prompts.length;
        int maxLen = 0;
        for (int[] p : prompts) {
            if (p.length == 0) {
                throw new IllegalArgumentException("empty prompt");
            }
            checkTokens(p);
            maxLen = Math.max(maxLen, p.length);
        }
        ensureOpen();
        int[][] out = new int[batch][n];
        if (n == 0 || batch == 0) {
            return out;
        }
        try (PointerScope outer = new PointerScope(); InferenceMode guard = new InferenceMode()) {
            KvCache cache = new KvCache(batch, maxLen + n - 1);
            long[] next = new long[batch];
            try (PointerScope step = new PointerScope()) {
                // Prefill, right-padded: a padded slot's key sits after the last real position
                // of its row, so the causal mask hides it until decoding overwrites it.
                long[] tok = new long[batch * maxLen];
                long[] pos = new long[batch * maxLen];
                long[] last = new long[batch];
                for (int b = 0; b < batch; b++) {
                    for (int t = 0; t < maxLen; t++) {
                        tok[b * maxLen + t] = t < prompts[b].length ? prompts[b][t] : 0;
                        pos[b * maxLen + t] = t;
                    }
                    last[b] = (long) b * maxLen + prompts[b].length - 1;
                }
                Tensor hidden = forward(tok, pos, batch, maxLen, cache)
                        .index_select(0, longTensor(last));
                argmaxInto(classify(hidden, batch), next);
            }
            for (int b = 0; b < batch; b++) {
                out[b][0] = (int) next[b];
            }
            for (int s = 1; s < n; s++) {
                try (PointerScope step = new PointerScope()) {
                    long[] pos = new long[batch];
                    for (int b = 0; b < batch; b++) {
                        pos[b] = prompts[b].length + s - 1;
                    }
                    Tensor hidden = forward(next, pos, batch, 1, cache);
                    argmaxInto(classify(hidden, batch), next);
                }
                for (int b = 0; b < batch; b++) {
                    out[b][s] = (int) next[b];
                }
            }
        }
        return out;
    }

    /** A copy of a component's weights, row-major, as float. */
    public float[] weight(String component) {
        ensureOpen();
        Tensor w = component(component);
        float[] out = new float[Math.toIntExact(w.numel())];
        try (PointerScope scope = new PointerScope()) {
            w.to(torch.ScalarType.Float).contiguous().data_ptr_float().get(out);
        }
        return out;
    }

    /**
     * Overwrites a component's weights in place (e.g. with a pruned or dequantized matrix).
     * With a shared classifier, {@code lm_head} and {@code model.embed_tokens} are one tensor.
     */
    public void replaceWeight(String component, float[] values) {
        ensureOpen();
        Tensor w = component(component);
        if (values.length != w.numel()) {
            throw new IllegalArgumentException(component + " has " + w.numel()
                    + " weights, got " + values.length);
        }
        try (PointerScope scope = new PointerScope(); InferenceMode guard = new InferenceMode()) {
            FloatPointer src = new FloatPointer(values);
            w.copy_(torch.from_blob(src, w.sizes().vec().get(),
                    new TensorOptions(torch.ScalarType.Float)));
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            for (Pointer p : owned) {
                p.close();
            }
        }
    }

    // ---------------------------------------------------------------- forward pass

    /**
     * Runs the decoder layers over a (batch, t) block of tokens at the given positions and
     * returns the final hidden states (batch*t, dim), before the final norm. Without a cache the
     * block attends to itself (query i sees the keys j of its row with pos[j] <= pos[i]); with a
     * cache its keys and values are first written at their positions and the queries attend to
     * the cache up to the block's largest position.
     */
    private Tensor forward(long[] tokens, long[] positions, int batch, int t, KvCache cache) {
        int hs = config.headSize();
        int nHeads = config.nHeads();
        int nKv = config.nKvHeads();
        long n = (long) batch * t;
        long qDim = (long) nHeads * hs;
        long kvDim = config.kvDim();
        long hidden = config.hiddenDim();
        long maxPos = 0;
        boolean samePos = true;
        for (long p : positions) {
            maxPos = Math.max(maxPos, p);
            samePos &= p == positions[0];
        }

        Tensor pos = longTensor(positions);                                  // (n)
        Tensor x = tokenEmbedding.index_select(0, longTensor(tokens));      // (n, dim)

        // RoPE for each row and dimension of a head: (n, 1, head_size).
        Tensor angles = pos.to(torch.ScalarType.Double).unsqueeze(1).mul(ropeFreq);
        Tensor cos = angles.cos().to(dtype).unsqueeze(1);
        Tensor sinSigned = angles.sin().mul(ropeSign).to(dtype).unsqueeze(1);

        // masked[b, 0, 0, i, j]: key j comes after query i in row b (null: nothing to hide).
        Tensor queryPos = pos.view(batch, t, 1);
        Tensor keyPos = null;                                                // (B|1, 1, Tk)
        Tensor cacheRows = null;
        if (cache == null) {
            if (t > 1) {
                keyPos = pos.view(batch, 1, t);
            }
        } else {
            if (!(t == 1 && samePos)) {
                keyPos = torch.arange(new Scalar(maxPos + 1),
                        new TensorOptions(torch.ScalarType.Long)).view(1, 1, maxPos + 1);
            }
            long[] rows = new long[positions.length];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = (i / t) * cache.capacity + positions[i];
            }
            cacheRows = longTensor(rows);
        }
        Tensor masked = keyPos == null ? null
                : torch.gt(keyPos, queryPos).unsqueeze(1).unsqueeze(1);
        long tk = cache == null ? t : maxPos + 1;

        for (int l = 0; l < config.nLayers(); l++) {
            // Attention: q, k, v from one GEMM; RoPE on q and k together.
            Tensor qkv = linear(rmsnorm(x, normAtt[l]), wqkv[l], n);         // (n, q+2kv)
            Tensor qk = rope(qkv.narrow(1, 0, qDim + kvDim).view(n, nHeads + nKv, hs),
                    cos, sinSigned);                                         // (n, H+Hkv, hs)
            Tensor q = qk.narrow(1, 0, nHeads).view(batch, t, nHeads, hs);
            Tensor k = qk.narrow(1, nHeads, nKv);                            // (n, Hkv, hs)
            Tensor v = qkv.narrow(1, qDim + kvDim, kvDim);                   // (n, kv_dim)
            if (cache != null) {
                cache.write(l, cacheRows, k, v);
                k = cache.keys(l, tk);                                       // (B, Tk, Hkv, hs)
                v = cache.values(l, tk);
            } else {
                k = k.view(batch, t, nKv, hs);
                v = v.view(batch, t, nKv, hs);
            }
            Tensor att = attention(q, k, v, masked, batch, t, tk);           // (n, q_dim)
            x = x.add(linear(att, wo[l], n));

            // Feed-forward (SwiGLU): gate and up from one GEMM.
            Tensor gateUp = linear(rmsnorm(x, normFfn[l]), w13[l], n);       // (n, 2*hidden)
            Tensor h = torch.silu(gateUp.narrow(1, 0, hidden))
                    .mul(gateUp.narrow(1, hidden, hidden));
            x = x.add(linear(h, w2[l], n));
        }
        return x;
    }

    /** logits = Wcls rmsnorm(h, w_final) for hidden states (rows, dim): (rows, vocab). */
    private Tensor classify(Tensor hidden, long rows) {
        return linear(rmsnorm(hidden, normFinal), classifier, rows);
    }

    /**
     * x W^T for x (rows, in) and W (out, in). A single row goes through a matrix-vector product
     * (GEMV), which OpenBLAS runs several times faster than a one-row GEMM.
     */
    private static Tensor linear(Tensor x, Tensor w, long rows) {
        return rows == 1 ? w.mv(x.view(-1)).unsqueeze(0) : torch.linear(x, w);
    }

    /** w * x / sqrt(mean(x^2) + eps) over the last dimension (dim); w is wrapped once. */
    private Tensor rmsnorm(Tensor x, TensorOptional w) {
        return torch.rms_norm(x, normShape, w, rmsEps);
    }

    /**
     * Rotates pairs (2i, 2i+1) of each head (llama2.c's interleaved convention):
     * (a, b) -> (a cos - b sin, b cos + a sin), computed as x * cos + swap(x) * sinSigned where
     * swap exchanges the two members of each pair and sinSigned is -sin at 2i and +sin at 2i+1.
     * x: (n, heads, hs); cos, sinSigned: (n, 1, hs).
     */
    private static Tensor rope(Tensor x, Tensor cos, Tensor sinSigned) {
        long n = x.size(0);
        long heads = x.size(1);
        long hs = x.size(2);
        Tensor swapped = torch.flip(x.view(n, heads, hs / 2, 2), -1).view(n, heads, hs);
        return x.mul(cos).add(swapped.mul(sinSigned));
    }

    /**
     * Causal grouped-query attention. q: (B, T, H, hs); k, v: (B, Tk, Hkv, hs); masked:
     * (B, 1, 1, T, Tk), true where a key must be hidden, or null. Query head h = g*G + j uses
     * kv head g, G = H / Hkv. Returns (B*T, H*hs).
     */
    private Tensor attention(Tensor q, Tensor k, Tensor v, Tensor masked, long batch, long t,
            long tk) {
        int hs = config.headSize();
        int nKv = config.nKvHeads();
        int group = config.kvGroup();
        Tensor qg = q.reshape(batch, t, nKv, group, hs).permute(0, 2, 3, 1, 4)
                .reshape(batch, nKv, group * t, hs);                         // (B, Hkv, G*T, hs)
        Tensor kt = k.permute(0, 2, 3, 1);                                   // (B, Hkv, hs, Tk)
        Tensor vg = v.permute(0, 2, 1, 3);                                   // (B, Hkv, Tk, hs)
        Tensor scores = qg.matmul(kt).div_(attentionScale);                  // (B,Hkv,G*T,Tk)
        if (masked != null) {
            scores.view(batch, nKv, group, t, tk).masked_fill_(masked, minusInfinity);
        }
        return torch.softmax(scores, -1).matmul(vg)                          // (B, Hkv, G*T, hs)
                .view(batch, nKv, group, t, hs).permute(0, 3, 1, 2, 4)
                .reshape(batch * t, (long) nKv * group * hs);
    }

    /** Keys and values of all positions written so far. */
    private final class KvCache {
        final long capacity;           // positions per sequence
        private final Tensor[] kRows;  // [layer] (B*capacity, kv_dim), row b*capacity + pos
        private final Tensor[] vRows;  // [layer] (B*capacity, kv_dim)
        private final Tensor[] kHeads; // [layer] (B, capacity, Hkv, hs), the same memory
        private final Tensor[] vHeads; // [layer] (B, capacity, Hkv, hs)

        /** Allocated in the caller's scope, which frees it. */
        KvCache(long batch, long capacity) {
            this.capacity = capacity;
            int layers = config.nLayers();
            long[] shape = {layers, batch * capacity, config.kvDim()};
            Tensor k = torch.zeros(shape, new TensorOptions(dtype));
            Tensor v = torch.zeros(shape, new TensorOptions(dtype));
            kRows = new Tensor[layers];
            vRows = new Tensor[layers];
            kHeads = new Tensor[layers];
            vHeads = new Tensor[layers];
            for (int l = 0; l < layers; l++) {
                kRows[l] = k.select(0, l);
                vRows[l] = v.select(0, l);
                kHeads[l] = kRows[l].view(batch, capacity, config.nKvHeads(), config.headSize());
                vHeads[l] = vRows[l].view(batch, capacity, config.nKvHeads(), config.headSize());
            }
        }

        /** Stores keys and values of n rows (any shape (n, ...)) at the given flat rows. */
        void write(int layer, Tensor rows, Tensor keys, Tensor values) {
            long n = rows.numel();
            kRows[layer].index_copy_(0, rows, keys.reshape(n, config.kvDim()));
            vRows[layer].index_copy_(0, rows, values.reshape(n, config.kvDim()));
        }

        /** Keys of positions [0, length): (B, length, Hkv, hs), a view. */
        Tensor keys(int layer, long length) {
            return kHeads[layer].narrow(1, 0, length);
        }

        Tensor values(int layer, long length) {
            return vHeads[layer].narrow(1, 0, length);
        }
    }

    // ---------------------------------------------------------------- helpers

    private Object logitsArray(int[][] sequences, boolean asDouble) {
        long total = totalLength(sequences);
        int size = Math.toIntExact(total * config.vocabSize());
        if (total == 0) {
            return asDouble ? new double[0] : new float[0];
        }
        try (PointerScope scope = new PointerScope(); InferenceMode guard = new InferenceMode()) {
            Tensor logits = batchLogits(sequences, null, total);
            if (asDouble) {
                double[] out = new double[size];
                logits.to(torch.ScalarType.Double).contiguous().data_ptr_double().get(out);
                return out;
            }
            float[] out = new float[size];
            logits.to(torch.ScalarType.Float).contiguous().data_ptr_float().get(out);
            return out;
        }
    }

    /**
     * Teacher-forced scoring as the engine's dtm_score does it, all in LibTorch: per position
     * the argmax (first maximal id) and the log-normaliser (logsumexp) of the logits; only
     * those small arrays come back to Java. The argmax of every position, sequence after
     * sequence; the logsumexps go to {@code logsumexp} when it is not null.
     */
    public int[] teacherForcedArgmax(int[][] sequences, float[] logsumexp) {
        return teacherForcedArgmax(sequences, null, logsumexp);
    }

    /**
     * Like {@link #teacherForcedArgmax(int[][], float[])}, but only positions
     * {@code firstScored[s]..} of sequence s go through the classifier (as the engine's
     * evaluation sends only the continuation's rows through its output head); the outputs hold
     * those positions only, sequence after sequence.
     */
    public int[] teacherForcedArgmax(int[][] sequences, int[] firstScored, float[] logsumexp) {
        long total = totalLength(sequences);
        if (firstScored != null) {
            total = 0;
            for (int s = 0; s < sequences.length; s++) {
                total += Math.max(0, sequences[s].length - firstScored[s]);
            }
        }
        int[] argmax = new int[Math.toIntExact(total)];
        if (total == 0) {
            return argmax;
        }
        try (PointerScope scope = new PointerScope(); InferenceMode guard = new InferenceMode()) {
            Tensor logits = batchLogits(sequences, firstScored, total);
            long[] ids = new long[argmax.length];
            argmaxInto(logits, ids);
            Tensor lse = logits.logsumexp(new long[] {1}, false).to(torch.ScalarType.Float).contiguous();
            if (logsumexp != null) {
                lse.data_ptr_float().get(logsumexp);
            }
            for (int i = 0; i < ids.length; i++) {
                argmax[i] = (int) ids[i];
            }
        }
        return argmax;
    }

    private long totalLength(int[][] sequences) {
        ensureOpen();
        long total = 0;
        for (int[] s : sequences) {
            checkTokens(s);
            total += s.length;
        }
        return total;
    }

    /**
     * Logits (rows, vocab) of a batch, inside the caller's scope and guard: every position, or
     * positions firstScored[s].. of each sequence when firstScored is not null ({@code rows}
     * of them in all).
     */
    private Tensor batchLogits(int[][] sequences, int[] firstScored, long total) {
        int batch = sequences.length;
        int maxLen = 0;
        for (int[] s : sequences) {
            maxLen = Math.max(maxLen, s.length);
        }
        // Right-padded batch; padding comes after every real position, so causality keeps
        // it out of the real rows, which are then picked before the classifier.
        long[] tok = new long[batch * maxLen];
        long[] pos = new long[batch * maxLen];
        long[] rows = new long[(int) total];
        int r = 0;
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < maxLen; t++) {
                tok[b * maxLen + t] = t < sequences[b].length ? sequences[b][t] : 0;
                pos[b * maxLen + t] = t;
                if (t < sequences[b].length && (firstScored == null || t >= firstScored[b])) {
                    rows[r++] = (long) b * maxLen + t;
                }
            }
        }
        Tensor hidden = forward(tok, pos, batch, maxLen, null);          // (B*T, dim)
        if (total != (long) batch * maxLen) {
            hidden = hidden.index_select(0, longTensor(rows));
        }
        return classify(hidden, total);
    }

    private static void argmaxInto(Tensor logits, long[] next) {
        logits.argmax(new LongOptional(1), false).contiguous().data_ptr_long().get(next);
    }

    private static Tensor longTensor(long[] values) {
        return torch.tensor(values);
    }

    private Tensor component(String name) {
        Tensor w = components.get(name);
        if (w == null) {
            throw new IllegalArgumentException("unknown component '" + name + "'");
        }
        return w;
    }

    private void checkTokens(int[] tokens) {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token " + tokens[i] + " at index " + i
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("LibTorchLlama is closed");
        }
    }

    /** Reads a part and converts it to the compute type (no copy when it already is). */
    private Tensor load(Llama2cFileReader reader, Part part) throws IOException {
        return reader.readTensor(part).to(dtype).contiguous();
    }

    /** Keeps a pointer made inside the load scope alive until {@link #close}. */
    private static <P extends Pointer> P keep(List<Pointer> keep, P p) {
        p.retainReference();
        keep.add(p);
        return p;
    }

    private static Tensor doubleTensor(double[] values) {
        return torch.from_blob(new DoublePointer(values), new long[] {values.length},
                new TensorOptions(torch.ScalarType.Double)).clone();
    }

    /** Per-layer views of a (layer, ...) tensor; the views keep its storage alive. */
    private static Tensor[] perLayer(List<Pointer> keep, Tensor all, int layers) {
        Tensor[] out = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            out[l] = keep(keep, all.select(0, l));
        }
        return out;
    }
}
