package dtm.scan;

import dtm.compress.Plan;

/**
 * Measures candidates for the multi-step pruning search ({@link PruningSearch}): the current
 * plan alone, and the current plan with one more component pruned further. Implemented with the
 * native engine by the scan runner; tests pass fakes.
 */
public interface CellEvaluator {
    /** The candidate {@code plan} makes of the base, against the base's reference. */
    CellMeasurement measure(Plan plan);

    /**
     * The candidate made by applying {@code current} and then pruning {@code component} alone by
     * magnitude to {@code totalSparsity} (its share of zero weights afterwards, counting the
     * zeros {@code current} already gave it), against the base's reference.
     */
    CellMeasurement measure(Plan current, String component, double totalSparsity);
}
