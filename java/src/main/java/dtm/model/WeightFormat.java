package dtm.model;

import dtm.bindings.Dtm;

/** How a component is stored and run ({@code dtm_weight_format}). */
public enum WeightFormat {
    /** Dense fp32 (also pruned matrices below the sparse break-even). */
    FP32(Dtm.DTM_FORMAT_FP32, "fp32"),
    /** Pruned, stored sparse. */
    SPARSE(Dtm.DTM_FORMAT_SPARSE, "sparse"),
    /** int8 W8A8: per-row weight scales, per-token activation scales. */
    INT8(Dtm.DTM_FORMAT_INT8, "int8"),
    /** int8 W8A8 with LLM.int8() outlier features in floating point. */
    INT8_OUTLIER(Dtm.DTM_FORMAT_INT8_OUTLIER, "int8-outlier"),
    /** int8 weights (per-row scales), fp32 activations. */
    INT8_WEIGHT(Dtm.DTM_FORMAT_INT8_WEIGHT, "int8-weight"),
    /** llama.cpp q8_0 blocks. */
    Q8_0(Dtm.DTM_FORMAT_Q8_0, "q8_0"),
    /** llama.cpp q4_0 blocks. */
    Q4_0(Dtm.DTM_FORMAT_Q4_0, "q4_0"),
    /** Dense fp16, as a Hugging Face checkpoint stores it (widened exactly to fp32 in the kernels). */
    FP16(Dtm.DTM_FORMAT_FP16, "fp16"),
    /** Dense bf16, as a Hugging Face checkpoint stores it (widened exactly to fp32 in the kernels). */
    BF16(Dtm.DTM_FORMAT_BF16, "bf16");

    private final int code;
    private final String label;

    WeightFormat(int code, String label) {
        this.code = code;
        this.label = label;
    }

    /** The C value. */
    public int code() {
        return code;
    }

    /** Short lower-case name, as tables and JSON show it. */
    public String label() {
        return label;
    }

    /** The format with this C value. */
    public static WeightFormat ofCode(int code) {
        for (WeightFormat f : values()) {
            if (f.code == code) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown weight format code " + code);
    }
}
