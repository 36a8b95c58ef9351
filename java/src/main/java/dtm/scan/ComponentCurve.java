package dtm.scan;

import java.util.Objects;

/**
 * What one step of the FDT-guided pruning (DESIGN.md §3, the paper's Algorithm 1) knows about
 * one component: its size, how sparse it already is, and the degradation measured when pruning
 * it alone by t/2 and by 3t/2 more (t the step's target added sparsity).
 *
 * <p>The two measurements are FDT_75 values (0..N) for the FDT-driven search; the
 * perplexity-driven baseline passes perplexity mapped to the same scale (see
 * {@link PruningDriver#PERPLEXITY}).
 *
 * @param component       the component's name
 * @param parameters      weights in the component (its weight in the mean sparsity)
 * @param currentSparsity share of its weights already zero before this step, in [0, 1]
 * @param atHalf          FDT_75 with t/2 added sparsity (total min(current + t/2, 1))
 * @param atThreeHalves   FDT_75 with 3t/2 added sparsity (total min(current + 3t/2, 1))
 */
public record ComponentCurve(String component, long parameters, double currentSparsity, double atHalf,
                             double atThreeHalves) {
    public ComponentCurve {
        Objects.requireNonNull(component, "component");
        if (parameters < 1) {
            throw new IllegalArgumentException("component " + component + ": parameters must be >= 1, got "
                    + parameters);
        }
        if (!(currentSparsity >= 0 && currentSparsity <= 1)) {
            throw new IllegalArgumentException("component " + component + ": current sparsity must be in [0, 1], got "
                    + currentSparsity);
        }
        if (!(atHalf >= 0) || !(atThreeHalves >= 0)) {
            throw new IllegalArgumentException("component " + component + ": measured FDT values must be >= 0, got "
                    + atHalf + " and " + atThreeHalves);
        }
    }

    /** The share of weights that can still be pruned: 1 − current sparsity. */
    public double room() {
        return 1.0 - currentSparsity;
    }
}
