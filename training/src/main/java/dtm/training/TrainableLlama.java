package dtm.training;

import dtm.errors.Status;
import dtm.errors.UnsupportedFeatureException;
import dtm.model.Component;
import dtm.model.ComponentKind;
import dtm.model.Model;
import dtm.model.ModelConfig;
import dtm.model.NormKind;
import dtm.model.RopeScaling;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A dtm model's weights as LibTorch tensors, and the Llama forward pass over them with autograd:
 * what recovery training differentiates. The weights are read from the engine (the effective fp32
 * weights of every matrix, the embedding and the norms, in the engine's layout: llama2.c's
 * interleaved RoPE pairs, which dtm also uses for Hugging Face checkpoints), so the function
 * trained is the one the engine runs (a test checks the logits against the engine's).
 *
 * <pre>
 *   x = embedding[token]
 *   per layer:  x += Wo attention(RoPE(Wq n), RoPE(Wk n), Wv n),  n = rmsnorm(x, w_att)
 *               x += Wdown (silu(Wgate n) * Wup n),                n = rmsnorm(x, w_mlp)
 *   logits = Whead rmsnorm(x, w_final)
 * </pre>
 *
 * Only the matrices asked for are trainable (leaf tensors with requires_grad); everything else is
 * frozen. Grouped-query attention is supported; biases and RoPE scaling are not (refused).
 * Tensors live until {@link #close}.
 */
final class TrainableLlama implements AutoCloseable {
    private final ModelConfig config;
    private Tensor embedding;            // (vocab, dim)
    private Tensor[] attentionNorm;      // [layer] (dim)
    private Tensor[] mlpNorm;            // [layer] (dim)
    private Tensor finalNorm;            // (dim)
    private Tensor[][] layerMatrices;    // [layer][kind q,k,v,o,gate,up,down]
    private Tensor head;                 // (vocab, dim)
    private final Map<Integer, Tensor> trainable = new LinkedHashMap<>();  // component index -> weight
    private TensorOptional[] attentionNormArg;
    private TensorOptional[] mlpNormArg;
    private TensorOptional finalNormArg;
    private DoubleOptional eps;
    private Tensor cos;                  // (maxLength, 1, headDim) float
    private Tensor sinSigned;            // (maxLength, 1, headDim) float: -sin at 2i, +sin at 2i+1
    private Tensor future;               // (maxLength, maxLength) bool: key after query
    private Scalar attentionScale;
    private Scalar minusInfinity;
    private final List<Pointer> owned = new ArrayList<>();

    /**
     * Copies {@code model}'s weights into LibTorch.
     *
     * @param trainable component indices whose matrices get gradients
     * @param maxLength the longest sequence {@link #logits} will see
     * @throws UnsupportedFeatureException biases or RoPE scaling (not implemented here)
     */
    TrainableLlama(Model model, Set<Integer> trainable, int maxLength) {
        this.config = model.config();
        if (config.qkvBias() || config.oBias() || config.mlpBias()) {
            throw unsupported("biases in attention or MLP");
        }
        if (config.ropeScaling() != null && config.ropeScaling().kind() != RopeScaling.Kind.NONE) {
            throw unsupported("RoPE scaling " + config.ropeScaling().kind());
        }
        if (maxLength > config.maxSeqLen()) {
            throw new IllegalArgumentException("sequences of " + maxLength + " tokens do not fit the context of "
                    + config.maxSeqLen());
        }
        List<Component> components = model.components();
        for (int i : trainable) {
            if (components.get(i).kind() == ComponentKind.EMBEDDING) {
                throw unsupported("training the token embedding");
            }
        }
        try {
            load(model, trainable, maxLength, components);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void load(Model model, Set<Integer> trainable, int maxLength, List<Component> components) {
        int layers = config.layers();
        attentionNorm = new Tensor[layers];
        mlpNorm = new Tensor[layers];
        attentionNormArg = new TensorOptional[layers];
        mlpNormArg = new TensorOptional[layers];
        layerMatrices = new Tensor[layers][7];
        Tensor table = null;
        Tensor headWeight = null;
        for (int i = 0; i < components.size(); i++) {
            Component c = components.get(i);
            boolean learn = trainable.contains(i);
            if (c.kind() == ComponentKind.EMBEDDING) {
                table = keep(tensor(model.componentWeights(i), c.rows(), c.cols()));
                continue;
            }
            Tensor w = keep(tensor(model.componentWeights(i), c.rows(), c.cols()));
            if (learn) {
                w.requires_grad_(true);
                this.trainable.put(i, w);
            }
            if (c.kind() == ComponentKind.LM_HEAD) {
                headWeight = w;
            } else {
                layerMatrices[c.layer()][c.kind().ordinal()] = w;
            }
        }
        if (table == null || headWeight == null) {
            throw new IllegalStateException("the model lists no embedding or no head");
        }
        embedding = table;
        head = headWeight;
        for (int l = 0; l < layers; l++) {
            for (int k = 0; k < 7; k++) {
                if (layerMatrices[l][k] == null) {
                    throw new IllegalStateException("layer " + l + " lacks its " + ComponentKind.values()[k]);
                }
            }
            attentionNorm[l] = keep(tensor(model.normWeights(NormKind.ATTENTION, l), config.dim()));
            mlpNorm[l] = keep(tensor(model.normWeights(NormKind.MLP, l), config.dim()));
            attentionNormArg[l] = keep(new TensorOptional(attentionNorm[l]));
            mlpNormArg[l] = keep(new TensorOptional(mlpNorm[l]));
        }
        finalNorm = keep(tensor(model.normWeights(NormKind.FINAL, -1), config.dim()));
        finalNormArg = keep(new TensorOptional(finalNorm));
        eps = keep(new DoubleOptional(config.normEps()));
        // RoPE as the engine computes it: angle pos * theta^(-2i/headDim) in double, rounded to float.
        int hd = config.headDim();
        double[] c = new double[maxLength * hd];
        double[] s = new double[maxLength * hd];
        for (int p = 0; p < maxLength; p++) {
            for (int d = 0; d < hd; d++) {
                double angle = p * Math.pow(config.ropeTheta(), -(2.0 * (d / 2)) / hd);
                c[p * hd + d] = Math.cos(angle);
                s[p * hd + d] = (d % 2 == 0 ? -1 : 1) * Math.sin(angle);
            }
        }
        cos = keep(doubles(c).to(torch.ScalarType.Float).view(maxLength, 1, hd));
        sinSigned = keep(doubles(s).to(torch.ScalarType.Float).view(maxLength, 1, hd));
        Tensor positions = torch.arange(new Scalar(maxLength), new TensorOptions(torch.ScalarType.Long));
        future = keep(torch.gt(positions.view(1, maxLength), positions.view(maxLength, 1)));
        attentionScale = keep(new Scalar(Math.sqrt(hd)));
        minusInfinity = keep(new Scalar(Double.NEGATIVE_INFINITY));
    }

    /** The trainable weights, by component index (leaf tensors with gradients). */
    Map<Integer, Tensor> trainable() {
        return trainable;
    }

    /**
     * Logits of every position: tokens (batch, length) of longs → (batch·length, vocab). Call in
     * a PointerScope (the intermediate tensors are the caller's to free).
     */
    Tensor logits(Tensor tokens) {
        return logitsOf(hidden(tokens));
    }

    /** The output head applied to rows of {@link #hidden}: (rows, vocab). */
    Tensor logitsOf(Tensor hidden) {
        return linear(hidden, head);
    }

    /**
     * The final hidden states after the final norm, the head's input: tokens (batch, length) →
     * (batch·length, dim). Call in a PointerScope.
     */
    Tensor hidden(Tensor tokens) {
        long batch = tokens.size(0);
        long t = tokens.size(1);
        long n = batch * t;
        int heads = config.heads();
        int kv = config.kvHeads();
        int hd = config.headDim();
        int group = heads / kv;
        long[] normShape = {config.dim()};
        Tensor x = embedding.index_select(0, tokens.reshape(n));                       // (n, dim)
        Tensor c = cos.narrow(0, 0, t).repeat(batch, 1, 1);                             // (n, 1, hd)
        Tensor s = sinSigned.narrow(0, 0, t).repeat(batch, 1, 1);
        Tensor hidden = future.narrow(0, 0, t).narrow(1, 0, t);                         // (t, t)
        for (int l = 0; l < config.layers(); l++) {
            Tensor[] w = layerMatrices[l];
            Tensor h = torch.rms_norm(x, normShape, attentionNormArg[l], eps);
            Tensor q = rope(linear(h, w[0]).view(n, heads, hd), c, s);
            Tensor k = rope(linear(h, w[1]).view(n, kv, hd), c, s);
            Tensor v = linear(h, w[2]).view(n, kv, hd);
            // (B, kv, G·t, hd) queries against (B, kv, t, hd) keys: head h uses kv head h / G.
            Tensor qg = q.view(batch, t, kv, group, hd).permute(0, 2, 3, 1, 4).reshape(batch, kv, group * t, hd);
            Tensor kt = k.view(batch, t, kv, hd).permute(0, 2, 3, 1);                    // (B, kv, hd, t)
            Tensor vg = v.view(batch, t, kv, hd).permute(0, 2, 1, 3);                    // (B, kv, t, hd)
            Tensor scores = qg.matmul(kt).div(attentionScale).view(batch, kv, group, t, t)
                    .masked_fill(hidden, minusInfinity);
            Tensor att = torch.softmax(scores.view(batch, kv, group * t, t), -1).matmul(vg)
                    .view(batch, kv, group, t, hd).permute(0, 3, 1, 2, 4).reshape(n, (long) heads * hd);
            x = x.add(linear(att, w[3]));
            h = torch.rms_norm(x, normShape, mlpNormArg[l], eps);
            Tensor gate = torch.silu(linear(h, w[4]));
            x = x.add(linear(gate.mul(linear(h, w[5])), w[6]));
        }
        return torch.rms_norm(x, normShape, finalNormArg, eps);
    }

    /**
     * x Wᵀ for x (rows, in) and W (out, in). As a matmul with the transposed view: LibTorch's
     * linear() took twice as long for these shapes on the CPUs measured (docs/recovery.md).
     */
    private static Tensor linear(Tensor x, Tensor w) {
        return x.matmul(w.t());
    }

    /** Pairs (2i, 2i+1) of each head rotated: x·cos + swap(x)·sinSigned. x: (n, heads, hd). */
    private static Tensor rope(Tensor x, Tensor cos, Tensor sinSigned) {
        long n = x.size(0);
        long heads = x.size(1);
        long hd = x.size(2);
        Tensor swapped = torch.flip(x.view(n, heads, hd / 2, 2), -1).view(n, heads, hd);
        return x.mul(cos).add(swapped.mul(sinSigned));
    }

    /** A weight's values, row-major. */
    static float[] values(Tensor w) {
        float[] out = new float[Math.toIntExact(w.numel())];
        w.detach().contiguous().data_ptr_float().get(out);
        return out;
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            owned.get(i).close();
        }
        owned.clear();
    }

    private <P extends Pointer> P keep(P p) {
        p.retainReference();
        owned.add(p);
        return p;
    }

    private static Tensor tensor(float[] values, long... shape) {
        try (FloatPointer data = new FloatPointer(values)) {
            return torch.from_blob(data, shape, new TensorOptions(torch.ScalarType.Float)).clone();
        }
    }

    private static Tensor doubles(double[] values) {
        try (DoublePointer data = new DoublePointer(values)) {
            return torch.from_blob(data, new long[] {values.length}, new TensorOptions(torch.ScalarType.Double))
                    .clone();
        }
    }

    private static UnsupportedFeatureException unsupported(String what) {
        return new UnsupportedFeatureException(Status.UNSUPPORTED.code(), "cannot run recovery training",
                what + " is not implemented by dtm's LibTorch trainer");
    }
}
