package dtm.scan;

/**
 * What drives the allocation of a pruning search ({@link PruningSearch}): the measurement that
 * Algorithm 1 reads at t/2 and 3t/2 for each component.
 */
public enum PruningDriver {
    /** FDT_75 itself (the paper's Algorithm 1). */
    FDT("FDT-guided"),
    /**
     * The baseline: the same algorithm on perplexity of y. Perplexity is mapped onto FDT's scale
     * so that lower perplexity is better and no added degradation is N:
     * score = N · min(1, ppl₀ / ppl), where ppl₀ is the perplexity of the step's current plan
     * (no added sparsity) and ppl that with the component pruned further; a non-finite ppl
     * scores 0. Doubling the perplexity halves the score.
     */
    PERPLEXITY("perplexity-guided");

    private final String label;

    PruningDriver(String label) {
        this.label = label;
    }

    /** The name of the plans it makes, e.g. "FDT-guided". */
    public String label() {
        return label;
    }

    /** The perplexity-driven score on FDT's scale (see {@link #PERPLEXITY}). */
    public static double perplexityScore(double perplexity, double currentPerplexity, int n) {
        if (!Double.isFinite(perplexity) || perplexity <= 0 || !(currentPerplexity > 0)) {
            return 0;
        }
        return n * Math.min(1.0, currentPerplexity / perplexity);
    }
}
