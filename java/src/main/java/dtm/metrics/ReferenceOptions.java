package dtm.metrics;

/**
 * What a reference holds beyond its prompts: how many tokens the base continues each prompt
 * with, how large a top-k of the base it keeps per token, whether continuations stop at EOS.
 *
 * @param n         N, continuation tokens per prompt (fewer per sample when stopping at EOS)
 * @param topK      k of the base's top-k kept per continuation token for approximate KL; 0 = none
 * @param stopAtEos end a continuation at the model's EOS token (EOS included; each sample then
 *                  has its own N and every metric uses it)
 */
public record ReferenceOptions(int n, int topK, boolean stopAtEos) {
    /** N of the paper's FDT: 100 tokens. */
    public static final int DEFAULT_N = 100;
    /** k of the base's top-k kept for approximate KL. */
    public static final int DEFAULT_TOP_K = 16;

    public ReferenceOptions {
        if (n < 1) {
            throw new IllegalArgumentException("N (continuation tokens) must be >= 1, got " + n);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0 (0 = none), got " + topK);
        }
    }

    /** N = {@value #DEFAULT_N}, top-{@value #DEFAULT_TOP_K}, no stop at EOS. */
    public static ReferenceOptions defaults() {
        return new ReferenceOptions(DEFAULT_N, DEFAULT_TOP_K, false);
    }

    public ReferenceOptions withN(int n) {
        return new ReferenceOptions(n, topK, stopAtEos);
    }

    public ReferenceOptions withTopK(int topK) {
        return new ReferenceOptions(n, topK, stopAtEos);
    }

    public ReferenceOptions withStopAtEos(boolean stopAtEos) {
        return new ReferenceOptions(n, topK, stopAtEos);
    }
}
