package dtm.scan;

import dtm.compress.Plan;

import java.util.Objects;

/**
 * A plan evaluated as a whole candidate: the rows of the report's comparison of the
 * FDT-guided plan against its baselines.
 *
 * @param name           e.g. "FDT-guided", "uniform magnitude", "perplexity-guided", "random order"
 * @param plan           the plan
 * @param sparsity       parameter-weighted share of zero weights over the scanned components
 * @param quantizedShare parameter-weighted share of the scanned components stored as naive int8
 * @param headline       the paper's figures over all decoder matrices (pruned beyond 90 %, naive int8)
 * @param fdt75          FDT_75 of the candidate
 * @param fdtMean        mean FDT
 * @param sdtMean        mean SDT
 * @param perplexity     perplexity of the reference continuations y under the candidate
 * @param textPerplexity perplexity on ground-truth text (llama.cpp convention), NaN if not measured
 * @param bytes          bytes of the candidate's weights in their storage formats
 */
public record PlanOutcome(String name, Plan plan, double sparsity, double quantizedShare, Headline headline, int fdt75,
                          double fdtMean, double sdtMean, double perplexity, double textPerplexity, long bytes) {
    public PlanOutcome {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(plan, "plan");
        Objects.requireNonNull(headline, "headline");
    }

    /** The same figures under another name and plan (e.g. a prefix check adopted as the chosen plan). */
    public PlanOutcome withName(String newName, Plan newPlan) {
        return new PlanOutcome(newName, newPlan, sparsity, quantizedShare, headline, fdt75, fdtMean, sdtMean,
                perplexity, textPerplexity, bytes);
    }

    /** The same outcome with its text perplexity measured. */
    public PlanOutcome withTextPerplexity(double ppl) {
        return new PlanOutcome(name, plan, sparsity, quantizedShare, headline, fdt75, fdtMean, sdtMean, perplexity, ppl,
                bytes);
    }
}
