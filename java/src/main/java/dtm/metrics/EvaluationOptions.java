package dtm.metrics;

import dtm.model.Model;

import java.util.Objects;

/**
 * How to evaluate a candidate against a reference.
 *
 * @param base          the base model, to run in the same pass for exact KL (it must be the
 *                      reference's base); null = approximate KL from the reference's top-k
 *                      (or none when the reference has no top-k)
 * @param keepPositions also return the per-position values ({@link PositionMetrics}: the
 *                      candidate's argmax, hence the divergence mask, log-probabilities, KL)
 * @param run           sessions, samples per native call, progress
 */
public record EvaluationOptions(Model base, boolean keepPositions, RunOptions run) {
    public EvaluationOptions {
        Objects.requireNonNull(run, "run");
    }

    /** Approximate KL, no per-position values, default run options. */
    public static EvaluationOptions defaults() {
        return new EvaluationOptions(null, false, RunOptions.defaults());
    }

    /** Exact KL: runs {@code base} in the same pass. */
    public EvaluationOptions withBase(Model base) {
        return new EvaluationOptions(base, keepPositions, run);
    }

    public EvaluationOptions withKeepPositions(boolean keepPositions) {
        return new EvaluationOptions(base, keepPositions, run);
    }

    public EvaluationOptions withRun(RunOptions run) {
        return new EvaluationOptions(base, keepPositions, run);
    }
}
