package dtm.scan;

/**
 * What the plan searches read from one evaluation of a candidate against the base's reference.
 *
 * @param fdt75      FDT_75: the largest v such that at least 75 % of samples have FDT ≥ v
 * @param perplexity perplexity of the reference continuations y under the candidate
 *                   (token-weighted, {@link dtm.metrics.Aggregates#tokenPerplexity()})
 */
public record CellMeasurement(int fdt75, double perplexity) {
    public CellMeasurement {
        if (fdt75 < 0) {
            throw new IllegalArgumentException("FDT_75 must be >= 0, got " + fdt75);
        }
    }
}
