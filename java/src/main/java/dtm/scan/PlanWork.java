package dtm.scan;

import dtm.compress.Plan;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Model;

import java.util.List;
import java.util.Objects;

/**
 * Whole plans to evaluate, each as one candidate of the base against the base's reference (the
 * plan searches' checks and the report's comparison). None needs a calibration.
 *
 * @param base      the base model the plans apply to
 * @param reference the base's reference
 * @param plans     the plans, in the order the scores come back
 * @param scanned   the components whose sparsity and int8 share the scores report
 * @param run       sessions and chunking of every evaluation
 */
public record PlanWork(Model base, Reference reference, List<Plan> plans, List<String> scanned, RunOptions run) {
    public PlanWork {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(reference, "reference");
        plans = List.copyOf(plans);
        scanned = List.copyOf(scanned);
        Objects.requireNonNull(run, "run");
        for (Plan p : plans) {
            if (p.needsCalibration()) {
                throw new IllegalArgumentException("a plan with Wanda needs a calibration: evaluate it in the driver");
            }
        }
    }
}
