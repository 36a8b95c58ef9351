package dtm.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.compress.Plan;
import dtm.errors.DtmException;
import dtm.errors.NativeOutOfMemoryException;
import dtm.metrics.LayerInputCache;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.scan.LayerCells;
import dtm.scan.ScanWork;
import org.apache.spark.TaskContext;

import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One Spark task of cells: the cells of one layer ({@link LayerCells}), each compressing one
 * component of the base (a scan) or of a plan's candidate (a step of the pruning search)
 * further. It returns each finished cell as the JSON the scan checkpoint stores; a cell that the
 * engine refuses (a {@link DtmException}: bad input, the same on every attempt) ends the list
 * with a failure record instead of failing the task, so Spark retries only what may succeed the
 * next time (a lost executor, an exception of the JVM).
 *
 * @param onTopOf the plan (its JSON) whose candidate the cells start from; null = the base
 */
record LayerTask(TaskSetup setup, int layer, int[] components, String[] settings, boolean cacheLayerInputs,
                 String onTopOf, int failLayerOnce) implements Serializable {
    private static final long serialVersionUID = 1L;
    static final ObjectMapper JSON = new ObjectMapper();
    /** The member of a failure record (a cell's JSON has no such member). */
    static final String FAILED = "failed";

    List<String> call() {
        Model base = setup.base();
        Reference ref = setup.loadReference();
        RunOptions run = setup.run();
        List<LayerCells.Cell> cells = new ArrayList<>();
        for (int i = 0; i < components.length; i++) {
            cells.add(new LayerCells.Cell(components[i], Compression.parse(settings[i])));
        }
        List<String> out = new ArrayList<>();
        int[] next = {0};
        try (Model start = ScanWork.startOf(base, onTopOf == null ? null : Plan.fromJson(onTopOf), setup.threads())) {
            Model from = start != null ? start : base;
            try (LayerInputCache inputs = cacheLayerInputs ? ref.captureLayerInputs(from, layer, null, run) : null) {
                try {
                    new LayerCells(layer, cells).run(from, ref, inputs, run, cell -> {
                        out.add(json(cell));
                        next[0]++;
                    });
                } catch (NativeOutOfMemoryException e) {
                    throw e;  // this executor's memory: another attempt may have more
                } catch (DtmException e) {
                    out.add(failure(base, next[0], e));
                }
            }
        }
        TaskContext context = TaskContext.get();
        if (layer == failLayerOnce && context != null && context.attemptNumber() == 0) {
            // Fault injection for tests (spark.dtm.test.failLayerOnce): the work is done and lost.
            throw new IllegalStateException("injected fault: first attempt of layer " + layer
                    + "'s task fails (spark.dtm.test.failLayerOnce)");
        }
        return out;
    }

    /** The failure record of cell {@code index}. */
    private String failure(Model base, int index, DtmException e) {
        ObjectNode failure = JSON.createObjectNode();
        failure.put(FAILED, true);
        failure.put("component", base.components().get(components[index]).name());
        failure.put("setting", settings[index]);
        failure.put("message", e.getMessage());
        return failure.toString();
    }

    static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
