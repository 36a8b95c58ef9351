package dtm.model;

import dtm.bindings.Dtm;

import java.nio.charset.StandardCharsets;

/**
 * What a component is ({@code dtm_component_kind}): one weight matrix, named as Hugging Face names
 * it. The codes come from the generated bindings, the names from the engine's architecture table
 * (cpp/src/model/architecture.h, through dtm_component_kind_hf_name).
 */
public enum ComponentKind {
    Q_PROJ(Dtm.DTM_COMPONENT_Q_PROJ),
    K_PROJ(Dtm.DTM_COMPONENT_K_PROJ),
    V_PROJ(Dtm.DTM_COMPONENT_V_PROJ),
    O_PROJ(Dtm.DTM_COMPONENT_O_PROJ),
    GATE_PROJ(Dtm.DTM_COMPONENT_GATE_PROJ),
    UP_PROJ(Dtm.DTM_COMPONENT_UP_PROJ),
    DOWN_PROJ(Dtm.DTM_COMPONENT_DOWN_PROJ),
    EMBEDDING(Dtm.DTM_COMPONENT_EMBEDDING),
    LM_HEAD(Dtm.DTM_COMPONENT_LM_HEAD);

    private final int code;
    private final String hfName;

    ComponentKind(int code) {
        this.code = code;
        this.hfName = Dtm.dtm_component_kind_hf_name(code).getString(StandardCharsets.UTF_8);
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
