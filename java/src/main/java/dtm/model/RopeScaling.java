package dtm.model;

/**
 * How a model's RoPE frequencies are rescaled (Hugging Face's rope_scaling).
 *
 * @param kind           none, linear, dynamic (NTK) or llama3
 * @param factor         the scaling factor (1 for none)
 * @param lowFreqFactor  llama3's low_freq_factor
 * @param highFreqFactor llama3's high_freq_factor
 * @param originalMaxPos dynamic, llama3: the context the model was trained with; else 0
 */
public record RopeScaling(Kind kind, float factor, float lowFreqFactor, float highFreqFactor, int originalMaxPos) {

    /** The rescaling rule. */
    public enum Kind { NONE, LINEAR, DYNAMIC, LLAMA3 }

    public RopeScaling {
        java.util.Objects.requireNonNull(kind, "kind");
    }

    static RopeScaling of(int code, float factor, float low, float high, int original) {
        Kind[] kinds = Kind.values();
        Kind kind = code >= 0 && code < kinds.length ? kinds[code] : Kind.NONE;
        return new RopeScaling(kind, factor, low, high, original);
    }
}
