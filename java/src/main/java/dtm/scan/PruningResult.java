package dtm.scan;

import dtm.compress.Plan;

import java.util.List;
import java.util.Objects;

/**
 * The result of a multi-step pruning search ({@link PruningSearch#run}): the plan, with the
 * evidence of every step in its entries, and the steps themselves.
 *
 * @param driver         what drove the allocation
 * @param targetSparsity the parameter-weighted mean sparsity reached
 * @param steps          the steps in order
 * @param plan           one entry per component that was pruned at all: its compressions are
 *                       one magnitude pruning per step that added sparsity to it (each to the
 *                       total sparsity after that step); components never pruned are absent
 */
public record PruningResult(PruningDriver driver, double targetSparsity, List<PruningStep> steps, Plan plan) {
    public PruningResult {
        Objects.requireNonNull(driver, "driver");
        steps = List.copyOf(steps);
        Objects.requireNonNull(plan, "plan");
    }

    /** A component's share of zero weights after the last step. */
    public double sparsityOf(String component) {
        return sparsityOf(component, steps.size());
    }

    /** A component's share of zero weights after the first {@code stepCount} steps (0: none, so 0). */
    public double sparsityOf(String component, int stepCount) {
        if (stepCount < 0 || stepCount > steps.size()) {
            throw new IllegalArgumentException("step count must be in [0, " + steps.size() + "], got " + stepCount);
        }
        double s = 0;
        for (PruningStep step : steps.subList(0, stepCount)) {
            ComponentAllocation a = step.allocation().of(component);
            if (a != null) {
                s = a.totalSparsity();
            }
        }
        return s;
    }
}
