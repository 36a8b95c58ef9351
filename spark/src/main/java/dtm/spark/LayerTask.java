package dtm.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.engine.Isa;
import dtm.errors.DtmException;
import dtm.errors.NativeOutOfMemoryException;
import dtm.metrics.LayerInputCache;
import dtm.metrics.Progress;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.SessionOptions;
import dtm.scan.LayerCells;
import org.apache.spark.TaskContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One Spark task of a scan: the cells of one layer ({@link LayerCells}), run on an executor
 * against the model file every executor can read and the reference shipped with the job. It
 * returns each finished cell as the JSON the scan checkpoint stores; a cell that the engine
 * refuses (a {@link DtmException}: bad input, the same on every attempt) ends the list with a
 * failure record instead of failing the task, so Spark retries only what may succeed the next
 * time (a lost executor, an exception of the JVM).
 */
record LayerTask(String modelPath, String tokenizerPath, String fingerprint, String referenceKey,
                 Broadcast<byte[]> reference, int layer, int[] components, String[] settings,
                 boolean cacheLayerInputs, int threads, String isa, String device, int maxSequences,
                 int maxBatchTokens, int chunkSamples, int failLayerOnce) implements Serializable {
    private static final long serialVersionUID = 1L;
    static final ObjectMapper JSON = new ObjectMapper();
    /** The member of a failure record (a cell's JSON has no such member). */
    static final String FAILED = "failed";

    List<String> call() {
        Model base = ExecutorState.model(modelPath, tokenizerPath, fingerprint);
        Reference ref = ExecutorState.reference(referenceKey, reference.value());
        RunOptions run = new RunOptions(new SessionOptions(threads, Isa.valueOf(isa), maxSequences, maxBatchTokens,
                device), chunkSamples, Progress.NONE);
        List<LayerCells.Cell> cells = new ArrayList<>();
        for (int i = 0; i < components.length; i++) {
            cells.add(new LayerCells.Cell(components[i], Compression.parse(settings[i])));
        }
        List<String> out = new ArrayList<>();
        int[] next = {0};
        try (LayerInputCache inputs = cacheLayerInputs ? ref.captureLayerInputs(base, layer, null, run) : null) {
            try {
                new LayerCells(layer, cells).run(base, ref, inputs, run, cell -> {
                    out.add(json(cell));
                    next[0]++;
                });
            } catch (NativeOutOfMemoryException e) {
                throw e;  // this executor's memory: another attempt may have more
            } catch (DtmException e) {
                out.add(failure(base, next[0], e));
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

    private static String json(Object cell) {
        try {
            return JSON.writeValueAsString(cell);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
