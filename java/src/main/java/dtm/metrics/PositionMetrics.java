package dtm.metrics;

import java.util.Arrays;
import java.util.Objects;

/**
 * Per continuation token values of an evaluation, all samples together in flat arrays: the
 * entries of sample s are {@code [offsets[s], offsets[s+1])}, entry i − 1 of a sample being
 * position i = 1..N. The arrays are the record's own and not copied on access; do not modify
 * them.
 *
 * @param offsets     sample starts, samples + 1 entries
 * @param reference   y_i, the base's continuation
 * @param argmax      the candidate's argmax at position i (its greedy choice given x, y_&lt;i)
 * @param logprob     log p_F'(y_i)
 * @param baseLogprob log p_F(y_i)
 * @param kl          KL(F || F') at position i (NaN without base information)
 */
public record PositionMetrics(int[] offsets, int[] reference, int[] argmax, float[] logprob, float[] baseLogprob,
                              float[] kl) {
    public PositionMetrics {
        Objects.requireNonNull(offsets, "offsets");
        Objects.requireNonNull(reference, "reference");
        Objects.requireNonNull(argmax, "argmax");
        Objects.requireNonNull(logprob, "logprob");
        Objects.requireNonNull(baseLogprob, "baseLogprob");
        Objects.requireNonNull(kl, "kl");
        int n = offsets[offsets.length - 1];
        if (reference.length != n || argmax.length != n || logprob.length != n || baseLogprob.length != n
                || kl.length != n) {
            throw new IllegalArgumentException("per-position arrays must have " + n + " entries");
        }
    }

    /** Samples. */
    public int sampleCount() {
        return offsets.length - 1;
    }

    /** N of sample s. */
    public int length(int sample) {
        return offsets[sample + 1] - offsets[sample];
    }

    /** d_i of sample s: true where the candidate's argmax differs from y_i (entry i − 1 for position i). */
    public boolean[] divergenceMask(int sample) {
        int from = offsets[sample];
        boolean[] mask = new boolean[length(sample)];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = argmax[from + i] != reference[from + i];
        }
        return mask;
    }

    /** The candidate's argmax over sample s's positions (a copy). */
    public int[] argmax(int sample) {
        return Arrays.copyOfRange(argmax, offsets[sample], offsets[sample + 1]);
    }

    /** KL per position of sample s (a copy). */
    public float[] kl(int sample) {
        return Arrays.copyOfRange(kl, offsets[sample], offsets[sample + 1]);
    }

    /** log p_F'(y_i) of sample s (a copy). */
    public float[] logprob(int sample) {
        return Arrays.copyOfRange(logprob, offsets[sample], offsets[sample + 1]);
    }
}
