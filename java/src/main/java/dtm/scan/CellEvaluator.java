package dtm.scan;

import dtm.compress.Plan;

import java.util.ArrayList;
import java.util.List;

/**
 * Measures candidates for the multi-step pruning search ({@link PruningSearch}): the current
 * plan alone, and the current plan with one more component pruned further. Implemented with the
 * native engine by {@link EngineEvaluator} (in this process or as cluster tasks); tests pass fakes.
 */
public interface CellEvaluator {
    /** One component pruned further on top of the current plan: to {@code totalSparsity} in all. */
    record Probe(String component, double totalSparsity) {}

    /**
     * The candidate {@code plan} makes of the base (the model a pruning step starts from),
     * against its own reference: FDT = N by the laws; its perplexity of its own continuations.
     */
    CellMeasurement measure(Plan plan);

    /**
     * The candidate made by applying {@code current} and then pruning {@code component} alone by
     * magnitude to {@code totalSparsity} (its share of zero weights afterwards, counting the
     * zeros {@code current} already gave it), against the reference of {@code current}'s own
     * candidate (its greedy continuations of the same prompts; the base's for the empty plan).
     */
    CellMeasurement measure(Plan current, String component, double totalSparsity);

    /**
     * {@link #measure(Plan, String, double)} of every probe, in their order: the measurements of
     * one step, which an evaluator may run side by side (on a cluster). By default one after another.
     */
    default List<CellMeasurement> measureAll(Plan current, List<Probe> probes) {
        List<CellMeasurement> out = new ArrayList<>();
        for (Probe p : probes) {
            out.add(measure(current, p.component(), p.totalSparsity()));
        }
        return out;
    }
}
