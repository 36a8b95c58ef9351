package dtm.reference;

import java.io.IOException;
import java.nio.file.Path;

import dtm.reference.Llama2cFileReader.Part;

/**
 * A plain-Java, one-token-at-a-time forward pass in float arithmetic that follows llama2.c's
 * run.c step by step (including its float RoPE angles). It exists only to check the LibTorch
 * reference against a second implementation that shares no tensor code with it; it is slow and
 * meant for small models and few tokens.
 */
final class ScalarLlama {

    private final Llama2cConfig c;
    private final float[] embedding;  // (vocab, dim)
    private final float[] rmsAtt;     // (layer, dim)
    private final float[] wq;         // (layer, dim, dim)
    private final float[] wk;         // (layer, kv_dim, dim)
    private final float[] wv;         // (layer, kv_dim, dim)
    private final float[] wo;         // (layer, dim, dim)
    private final float[] rmsFfn;     // (layer, dim)
    private final float[] w1;         // (layer, hidden, dim)
    private final float[] w2;         // (layer, dim, hidden)
    private final float[] w3;         // (layer, hidden, dim)
    private final float[] rmsFinal;   // (dim)
    private final float[] wcls;       // (vocab, dim)

    // Run state.
    private final float[] keyCache;   // (layer, seq, kv_dim)
    private final float[] valueCache; // (layer, seq, kv_dim)
    private final int capacity;

    ScalarLlama(Path file, int capacity) throws IOException {
        try (Llama2cFileReader r = Llama2cFileReader.open(file)) {
            c = r.config();
            embedding = r.readFloats(Part.TOKEN_EMBEDDING);
            rmsAtt = r.readFloats(Part.RMS_ATT);
            wq = r.readFloats(Part.WQ);
            wk = r.readFloats(Part.WK);
            wv = r.readFloats(Part.WV);
            wo = r.readFloats(Part.WO);
            rmsFfn = r.readFloats(Part.RMS_FFN);
            w1 = r.readFloats(Part.W1);
            w2 = r.readFloats(Part.W2);
            w3 = r.readFloats(Part.W3);
            rmsFinal = r.readFloats(Part.RMS_FINAL);
            wcls = c.sharedClassifier() ? embedding : r.readFloats(Part.WCLS);
        }
        this.capacity = capacity;
        keyCache = new float[c.nLayers() * capacity * c.kvDim()];
        valueCache = new float[c.nLayers() * capacity * c.kvDim()];
    }

    Llama2cConfig config() {
        return c;
    }

    /** Logits after feeding token at pos; positions must be fed in order 0, 1, 2, ... */
    float[] forward(int token, int pos) {
        int dim = c.dim();
        int kvDim = c.kvDim();
        int hs = c.headSize();
        int hidden = c.hiddenDim();
        float[] x = new float[dim];
        System.arraycopy(embedding, token * dim, x, 0, dim);
        float[] xb = new float[dim];
        float[] q = new float[dim];
        float[] k = new float[kvDim];
        float[] v = new float[kvDim];
        float[] att = new float[pos + 1];
        float[] out = new float[dim];
        float[] hb = new float[hidden];
        float[] hb2 = new float[hidden];
        for (int l = 0; l < c.nLayers(); l++) {
            rmsnorm(xb, x, rmsAtt, l * dim, dim);
            matmul(q, xb, wq, (long) l * dim * dim, dim, dim);
            matmul(k, xb, wk, (long) l * kvDim * dim, dim, kvDim);
            matmul(v, xb, wv, (long) l * kvDim * dim, dim, kvDim);
            for (int i = 0; i < dim; i += 2) {
                int headDim = i % hs;
                float freq = 1.0f / (float) Math.pow(10000.0f, headDim / (float) hs);
                float val = pos * freq;
                float fcr = (float) Math.cos(val);
                float fci = (float) Math.sin(val);
                rotate(q, i, fcr, fci);
                if (i < kvDim) {
                    rotate(k, i, fcr, fci);
                }
            }
            int cacheOff = (l * capacity + pos) * kvDim;
            System.arraycopy(k, 0, keyCache, cacheOff, kvDim);
            System.arraycopy(v, 0, valueCache, cacheOff, kvDim);
            for (int h = 0; h < c.nHeads(); h++) {
                int kvHead = h / c.kvGroup();
                for (int t = 0; t <= pos; t++) {
                    int kOff = (l * capacity + t) * kvDim + kvHead * hs;
                    float score = 0.0f;
                    for (int i = 0; i < hs; i++) {
                        score += q[h * hs + i] * keyCache[kOff + i];
                    }
                    att[t] = score / (float) Math.sqrt(hs);
                }
                softmax(att, pos + 1);
                for (int i = 0; i < hs; i++) {
                    out[h * hs + i] = 0.0f;
                }
                for (int t = 0; t <= pos; t++) {
                    int vOff = (l * capacity + t) * kvDim + kvHead * hs;
                    for (int i = 0; i < hs; i++) {
                        out[h * hs + i] += att[t] * valueCache[vOff + i];
                    }
                }
            }
            matmul(xb, out, wo, (long) l * dim * dim, dim, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += xb[i];
            }
            rmsnorm(xb, x, rmsFfn, l * dim, dim);
            matmul(hb, xb, w1, (long) l * hidden * dim, dim, hidden);
            matmul(hb2, xb, w3, (long) l * hidden * dim, dim, hidden);
            for (int i = 0; i < hidden; i++) {
                float s = hb[i];
                s *= 1.0f / (1.0f + (float) Math.exp(-s));
                hb[i] = s * hb2[i];
            }
            matmul(xb, hb, w2, (long) l * dim * hidden, hidden, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += xb[i];
            }
        }
        rmsnorm(x, x, rmsFinal, 0, dim);
        float[] logits = new float[c.vocabSize()];
        matmul(logits, x, wcls, 0, dim, c.vocabSize());
        return logits;
    }

    /** Logits of every position, (tokens.length, vocab) row-major; starts from position 0. */
    float[] logits(int[] tokens) {
        int vocab = c.vocabSize();
        float[] all = new float[tokens.length * vocab];
        for (int t = 0; t < tokens.length; t++) {
            System.arraycopy(forward(tokens[t], t), 0, all, t * vocab, vocab);
        }
        return all;
    }

    /** Greedy continuation (lowest id on ties) of a prompt; starts from position 0. */
    int[] greedy(int[] prompt, int n) {
        int[] out = new int[n];
        float[] logits = null;
        for (int t = 0; t < prompt.length; t++) {
            logits = forward(prompt[t], t);
        }
        for (int s = 0; s < n; s++) {
            out[s] = argmax(logits);
            if (s + 1 < n) {
                logits = forward(out[s], prompt.length + s);
            }
        }
        return out;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    private static void rotate(float[] vec, int i, float fcr, float fci) {
        float v0 = vec[i];
        float v1 = vec[i + 1];
        vec[i] = v0 * fcr - v1 * fci;
        vec[i + 1] = v0 * fci + v1 * fcr;
    }

    private static void rmsnorm(float[] o, float[] x, float[] w, int wOff, int size) {
        float ss = 0.0f;
        for (int j = 0; j < size; j++) {
            ss += x[j] * x[j];
        }
        ss /= size;
        ss += 1e-5f;
        ss = 1.0f / (float) Math.sqrt(ss);
        for (int j = 0; j < size; j++) {
            o[j] = w[wOff + j] * (ss * x[j]);
        }
    }

    private static void softmax(float[] x, int size) {
        float max = x[0];
        for (int i = 1; i < size; i++) {
            max = Math.max(max, x[i]);
        }
        float sum = 0.0f;
        for (int i = 0; i < size; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        for (int i = 0; i < size; i++) {
            x[i] /= sum;
        }
    }

    /** out (d) = W (d, n) x (n), W starting at wOff. */
    private static void matmul(float[] out, float[] x, float[] w, long wOff, int n, int d) {
        for (int i = 0; i < d; i++) {
            float val = 0.0f;
            int row = (int) (wOff + (long) i * n);
            for (int j = 0; j < n; j++) {
                val += w[row + j] * x[j];
            }
            out[i] = val;
        }
    }
}
