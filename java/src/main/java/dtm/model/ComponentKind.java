package dtm.model;

/** What a component is ({@code dtm_component_kind}): one weight matrix, named as Hugging Face names it. */
public enum ComponentKind {
    Q_PROJ(0, "self_attn.q_proj"),
    K_PROJ(1, "self_attn.k_proj"),
    V_PROJ(2, "self_attn.v_proj"),
    O_PROJ(3, "self_attn.o_proj"),
    GATE_PROJ(4, "mlp.gate_proj"),
    UP_PROJ(5, "mlp.up_proj"),
    DOWN_PROJ(6, "mlp.down_proj"),
    EMBEDDING(7, "model.embed_tokens"),
    LM_HEAD(8, "lm_head");

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
