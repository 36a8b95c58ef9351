package dtm.metrics;

import java.util.List;
import java.util.Objects;

/**
 * A candidate evaluated against a reference: per-sample metrics, their aggregates, optionally
 * per-position values.
 *
 * @param klMode     how KL was computed (labelled in every output)
 * @param reference  the reference's settings (base, N, top-k, prompts)
 * @param candidate  the candidate, for people (e.g. its model file)
 * @param samples    per-sample metrics, in prompt-set order
 * @param aggregates aggregates over the samples
 * @param positions  per-position values, or null unless asked for
 * @param seconds    wall time of the evaluation (native calls included)
 */
public record EvaluationResult(KlMode klMode, ReferenceSettings reference, String candidate,
                               List<SampleMetrics> samples, Aggregates aggregates, PositionMetrics positions,
                               double seconds) {
    public EvaluationResult {
        Objects.requireNonNull(klMode, "klMode");
        Objects.requireNonNull(reference, "reference");
        Objects.requireNonNull(candidate, "candidate");
        Objects.requireNonNull(samples, "samples");
        Objects.requireNonNull(aggregates, "aggregates");
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("an evaluation has at least one sample");
        }
        samples = List.copyOf(samples);
    }

    /** Samples evaluated. */
    public int sampleCount() {
        return samples.size();
    }

    /** FDT of every sample, in order. */
    public int[] fdt() {
        return samples.stream().mapToInt(SampleMetrics::fdt).toArray();
    }

    /** SDT of every sample, in order. */
    public int[] sdt() {
        return samples.stream().mapToInt(SampleMetrics::sdt).toArray();
    }

    /** FDT_q: the largest v such that at least q % of the samples have FDT ≥ v ({@link Statistics#fdtQ}). */
    public int fdtQ(double q) {
        return Statistics.fdtQ(fdt(), q);
    }

    /** Continuation tokens scored per second. */
    public double tokensPerSecond() {
        return seconds > 0 ? aggregates.tokens() / seconds : Double.NaN;
    }

    /**
     * d_i of sample s: true where the candidate's argmax differs from y_i.
     *
     * @throws IllegalStateException the per-position values were not kept
     */
    public boolean[] divergenceMask(int sample) {
        if (positions == null) {
            throw new IllegalStateException("per-position values were not kept (EvaluationOptions.keepPositions)");
        }
        return positions.divergenceMask(sample);
    }
}
