package dtm.scan;

import dtm.compress.Plan;

/**
 * Evaluates a whole plan as one candidate: the rows of the report's comparison and the checks of
 * the int8 search ({@link Int8Search}). Implemented with the native engine by the scan runner;
 * tests pass fakes.
 */
public interface PlanEvaluator {
    /** The candidate {@code plan} makes of the base, evaluated and labelled {@code name}. */
    PlanOutcome evaluate(String name, Plan plan);
}
