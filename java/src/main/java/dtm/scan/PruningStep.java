package dtm.scan;

import java.util.Map;
import java.util.Objects;

/**
 * One step of a multi-step pruning search ({@link PruningSearch}): what was measured and what
 * Algorithm 1 chose.
 *
 * @param index             1 for the first step
 * @param allocation        Algorithm 1's result (its curves hold the driver's values: FDT_75, or
 *                          the perplexity score)
 * @param atHalf            per component, the measurement at t/2 more sparsity (absent for a
 *                          component already fully pruned)
 * @param atThreeHalves     per component, the measurement at 3t/2 more sparsity (total at most 1)
 * @param currentPerplexity perplexity of the step's starting plan (the perplexity driver's
 *                          ppl₀), NaN for the FDT driver, which does not measure it
 */
public record PruningStep(int index, SparsityAllocation allocation, Map<String, CellMeasurement> atHalf,
                          Map<String, CellMeasurement> atThreeHalves, double currentPerplexity) {
    public PruningStep {
        Objects.requireNonNull(allocation, "allocation");
        atHalf = Map.copyOf(atHalf);
        atThreeHalves = Map.copyOf(atThreeHalves);
    }
}
