package dtm.scan;

import dtm.compress.Plan;
import dtm.metrics.EvaluationOptions;
import dtm.metrics.EvaluationResult;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Component;
import dtm.model.Model;
import dtm.model.WeightFormat;

import java.util.List;

/**
 * The figures of one plan's candidate evaluated against the base's reference, without the plan
 * itself: what {@link PlanOutcome} reports, as a cluster task returns it.
 *
 * @param sparsity       parameter-weighted sparsity of the scanned components
 * @param quantizedShare share of the scanned components' parameters in naive int8
 * @param headline       the paper's figures over all decoder matrices
 * @param fdt75          FDT_75
 * @param fdtMean        mean FDT
 * @param sdtMean        mean SDT
 * @param perplexity     perplexity of the reference continuations (token-weighted)
 * @param bytes          the candidate's storage in bytes
 */
public record PlanScores(double sparsity, double quantizedShare, Headline headline, int fdt75, double fdtMean,
                         double sdtMean, double perplexity, long bytes) {
    /** The scores of {@code candidate}, evaluated as {@code r}, over the components named {@code scanned}. */
    public static PlanScores of(Model candidate, EvaluationResult r, List<String> scanned) {
        long parameters = 0;
        double zeros = 0;
        long naive = 0;
        for (String s : scanned) {
            Component c = candidate.components().get(candidate.findComponents(s)[0]);
            parameters += c.parameterCount();
            zeros += c.sparsity() * c.parameterCount();
            if (c.format() == WeightFormat.INT8) {
                naive += c.parameterCount();
            }
        }
        double sparsity = parameters == 0 ? 0 : zeros / parameters;
        double quantized = parameters == 0 ? 0 : (double) naive / parameters;
        return new PlanScores(sparsity, quantized, Headline.of(candidate), r.fdtQ(75), r.aggregates().fdt().mean(),
                r.aggregates().sdt().mean(), r.aggregates().tokenPerplexity(), candidate.storageBytes());
    }

    /**
     * The scores of {@code plan}'s candidate (built from {@code base}, no calibration) evaluated
     * against {@code reference}: what the local runner and a cluster's task both run.
     */
    public static PlanScores measure(Model base, Reference reference, Plan plan, List<String> scanned,
                                     RunOptions run) {
        try (Model candidate = plan.apply(base, null, run.session().threads())) {
            return of(candidate, reference.evaluate(candidate, EvaluationOptions.defaults().withRun(run), null),
                    scanned);
        }
    }

    /** These scores as the outcome of {@code plan} under {@code name} (text perplexity not measured). */
    public PlanOutcome outcome(String name, Plan plan) {
        return new PlanOutcome(name, plan, sparsity, quantizedShare, headline, fdt75, fdtMean, sdtMean, perplexity,
                Double.NaN, bytes);
    }

    /** What the plan searches read from these scores. */
    public CellMeasurement measurement() {
        return new CellMeasurement(fdt75, perplexity);
    }
}
