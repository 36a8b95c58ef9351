package dtm.model;

import dtm.bindings.Dtm;

/**
 * Which RMSNorm weight vector {@link Model#normWeights} reads ({@code dtm_norm_kind}), named as
 * Hugging Face names it.
 */
public enum NormKind {
    /** {@code model.layers.N.input_layernorm}: before attention. */
    ATTENTION(Dtm.DTM_NORM_ATTENTION),
    /** {@code model.layers.N.post_attention_layernorm}: before the MLP. */
    MLP(Dtm.DTM_NORM_MLP),
    /** {@code model.norm}: before the output head (no layer). */
    FINAL(Dtm.DTM_NORM_FINAL);

    private final int code;

    NormKind(int code) {
        this.code = code;
    }

    /** The engine's code. */
    public int code() {
        return code;
    }
}
