package dtm.spark;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.compress.Plan;
import dtm.errors.DtmException;
import dtm.errors.NativeOutOfMemoryException;
import dtm.scan.PlanScores;

import java.io.Serializable;
import java.util.List;

/**
 * One Spark task of a whole plan: its candidate built from the base and evaluated against the
 * reference ({@link PlanScores#measure}), returned as the JSON of its {@link PlanScores}; a plan
 * the engine refuses returns a failure record (as {@link LayerTask}'s cells do).
 *
 * @param plan    the plan's JSON
 * @param scanned the components whose sparsity and int8 share the scores report
 */
record PlanTask(TaskSetup setup, String plan, String[] scanned) implements Serializable {
    private static final long serialVersionUID = 1L;

    String call() {
        Plan p = Plan.fromJson(plan);
        try {
            return LayerTask.json(PlanScores.measure(setup.base(), setup.loadReference(), p, List.of(scanned),
                    setup.run()));
        } catch (NativeOutOfMemoryException e) {
            throw e;  // this executor's memory: another attempt may have more
        } catch (DtmException e) {
            ObjectNode failure = LayerTask.JSON.createObjectNode();
            failure.put(LayerTask.FAILED, true);
            failure.put("plan", p.description());
            failure.put("message", e.getMessage());
            return failure.toString();
        }
    }
}
