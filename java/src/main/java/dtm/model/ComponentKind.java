package dtm.model;

import dtm.bindings.Dtm;

/** What a component is ({@code dtm_component_kind}): one weight matrix, named as Hugging Face names it. */
public enum ComponentKind {
    Q_PROJ(Dtm.DTM_COMPONENT_Q_PROJ, "self_attn.q_proj"),
    K_PROJ(Dtm.DTM_COMPONENT_K_PROJ, "self_attn.k_proj"),
    V_PROJ(Dtm.DTM_COMPONENT_V_PROJ, "self_attn.v_proj"),
    O_PROJ(Dtm.DTM_COMPONENT_O_PROJ, "self_attn.o_proj"),
    GATE_PROJ(Dtm.DTM_COMPONENT_GATE_PROJ, "mlp.gate_proj"),
    UP_PROJ(Dtm.DTM_COMPONENT_UP_PROJ, "mlp.up_proj"),
    DOWN_PROJ(Dtm.DTM_COMPONENT_DOWN_PROJ, "mlp.down_proj"),
    EMBEDDING(Dtm.DTM_COMPONENT_EMBEDDING, "model.embed_tokens"),
    LM_HEAD(Dtm.DTM_COMPONENT_LM_HEAD, "lm_head");

    private final int code;
    private final String hfName;

    ComponentKind(int code, String hfName) {
        this.code = code;
        this.hfName = hfName;
    }

    /** The C value. */
    public int code() {
        return code;
    }

    /** The Hugging Face name: the suffix after "model.layers.{i}." for a layer's matrices, the whole name otherwise. */
    public String hfName() {
        return hfName;
    }

    /** Whether this is a matrix of a decoder layer (not the embedding or the head). */
    public boolean inLayer() {
        return code <= DOWN_PROJ.code;
    }

    /** The kind with this C value. */
    public static ComponentKind ofCode(int code) {
        for (ComponentKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown component kind " + code);
    }
}
