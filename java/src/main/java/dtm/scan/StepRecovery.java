package dtm.scan;

import dtm.compress.Plan;

/**
 * Recovery training between pruning steps (DESIGN.md §3): what {@link PruningSearch} calls after
 * each step to train the step's pruned model before the next step measures it. Implemented with
 * LibTorch by {@link TrainedSteps}; tests pass fakes.
 */
public interface StepRecovery {
    /**
     * The model of {@code pruned} (a step's plan: the previous step's trained weights, if any,
     * with the prunings so far) trained, as a plan: {@code pruned} with {@link Plan.Recovered}
     * weights that hold it.
     *
     * @param planName the plan being made ("FDT-guided", "uniform magnitude", ...)
     * @param step     1 for the first step
     */
    Plan recover(Plan pruned, String planName, int step);
}
