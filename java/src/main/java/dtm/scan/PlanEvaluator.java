package dtm.scan;

import dtm.compress.Plan;

import java.util.ArrayList;
import java.util.List;

/**
 * Evaluates a whole plan as one candidate: the rows of the report's comparison and the checks of
 * the int8 search ({@link Int8Search}). Implemented with the native engine by
 * {@link EngineEvaluator} (in this process or as cluster tasks); tests pass fakes.
 */
public interface PlanEvaluator {
    /** The candidate {@code plan} makes of the base, evaluated and labelled {@code name}. */
    PlanOutcome evaluate(String name, Plan plan);

    /**
     * {@link #evaluate} of each plan under the name at the same index, in their order; an
     * evaluator may run them side by side (on a cluster). By default one after another.
     */
    default List<PlanOutcome> evaluateAll(List<String> names, List<Plan> plans) {
        if (names.size() != plans.size()) {
            throw new IllegalArgumentException(names.size() + " names for " + plans.size() + " plans");
        }
        List<PlanOutcome> out = new ArrayList<>();
        for (int i = 0; i < plans.size(); i++) {
            out.add(evaluate(names.get(i), plans.get(i)));
        }
        return out;
    }

    /** How many evaluations run side by side in {@link #evaluateAll} (1: one after another). */
    default int slots() {
        return 1;
    }
}
