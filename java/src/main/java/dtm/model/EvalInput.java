package dtm.model;

import java.util.Objects;

/**
 * Samples for one teacher-forced evaluation call ({@code dtm_eval_inputs}): for sample s a
 * prompt x ({@code promptLens[s]} tokens, BOS included) followed by a reference continuation
 * y_1..y_N ({@code contLens[s]} tokens), all samples one after another in {@code tokens}.
 * Optional base statistics have one entry per continuation token (all samples together):
 * log p_F(y_i), and the base's top-k ids and log-probabilities (k per token, row-major).
 * The arrays are the record's own and not copied; do not modify them.
 *
 * @param tokens           prompts and continuations, sample after sample
 * @param promptLens       tokens of each prompt (each >= 1)
 * @param contLens         tokens of each continuation (each >= 1)
 * @param baseLogprobs     log p_F(y_i) per continuation token, or null
 * @param baseTopK         k of the base top-k, 0 = none
 * @param baseTopkIds      (continuation tokens, k) ids by descending probability, or null when k = 0
 * @param baseTopkLogprobs (continuation tokens, k) their log-probabilities, or null when k = 0
 */
public record EvalInput(int[] tokens, int[] promptLens, int[] contLens, float[] baseLogprobs,
                        int baseTopK, int[] baseTopkIds, float[] baseTopkLogprobs) {
    public EvalInput {
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(promptLens, "promptLens");
        Objects.requireNonNull(contLens, "contLens");
        if (promptLens.length == 0) {
            throw new IllegalArgumentException("no samples given");
        }
        if (promptLens.length != contLens.length) {
            throw new IllegalArgumentException(promptLens.length + " prompt lengths but "
                    + contLens.length + " continuation lengths");
        }
        long total = 0;
        long cont = 0;
        for (int s = 0; s < promptLens.length; s++) {
            if (promptLens[s] < 1) {
                throw new IllegalArgumentException("sample " + s + " has an empty prompt (it needs at least BOS)");
            }
            if (contLens[s] < 1) {
                throw new IllegalArgumentException("sample " + s + " has an empty continuation");
            }
            total += promptLens[s] + (long) contLens[s];
            cont += contLens[s];
        }
        if (tokens.length != total) {
            throw new IllegalArgumentException("tokens has " + tokens.length + " entries; the lengths add up to " + total);
        }
        if (baseLogprobs != null && baseLogprobs.length != cont) {
            throw new IllegalArgumentException("baseLogprobs has " + baseLogprobs.length
                    + " entries, one per continuation token (" + cont + ") expected");
        }
        if (baseTopK < 0) {
            throw new IllegalArgumentException("baseTopK must be >= 0, got " + baseTopK);
        }
        if (baseTopK == 0 ? baseTopkIds != null || baseTopkLogprobs != null
                : baseTopkIds == null || baseTopkLogprobs == null) {
            throw new IllegalArgumentException("base top-k ids and log-probabilities must be given exactly when baseTopK > 0");
        }
        if (baseTopK > 0 && (baseTopkIds.length != cont * baseTopK || baseTopkLogprobs.length != cont * baseTopK)) {
            throw new IllegalArgumentException("base top-k arrays must have " + cont + " x " + baseTopK + " entries");
        }
    }

    /** Samples. */
    public int sampleCount() {
        return promptLens.length;
    }

    /** Continuation tokens, all samples together. */
    public int continuationTokens() {
        int n = 0;
        for (int len : contLens) {
            n += len;
        }
        return n;
    }
}
