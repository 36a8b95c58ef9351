package dtm.scan;

import dtm.metrics.EvaluationOptions;
import dtm.metrics.EvaluationResult;
import dtm.metrics.LayerInputCache;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Component;
import dtm.model.Compression;
import dtm.model.Model;

import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The cells of a scan that start from one layer's inputs: components of that layer (the head's
 * cells start after the last layer) × settings, in scan order.
 *
 * @param layer the layer (the number of layers: the head's)
 * @param cells the cells, each one component and one setting
 */
public record LayerCells(int layer, List<Cell> cells) {
    public LayerCells {
        cells = List.copyOf(cells);
        if (cells.isEmpty()) {
            throw new IllegalArgumentException("layer " + layer + " has no cells");
        }
    }

    /** One cell: the component (its index in the base's components) compressed alone by one setting. */
    public record Cell(int component, Compression setting) {
        public Cell {
            Objects.requireNonNull(setting, "setting");
        }
    }

    /**
     * Runs this layer's cells, each compressing one component of {@code from} (the base, or a
     * plan's candidate of it) further, against {@code reference}, each to {@code sink} as it
     * finishes. With {@code inputs} (the residual stream of {@code from} entering
     * {@link #layer()}) every cell starts there; without, a full pass. A cell that fails throws
     * what its compression or evaluation threw.
     */
    public void run(Model from, Reference reference, LayerInputCache inputs, RunOptions run, Consumer<ScanCell> sink) {
        EvaluationOptions evaluation = EvaluationOptions.defaults().withRun(run);
        for (Cell cell : cells) {
            Component c = from.components().get(cell.component());
            long t0 = System.nanoTime();
            EvaluationResult r;
            try (Model candidate = from.compress(java.util.Map.of(cell.component(), cell.setting()), null,
                    run.session().threads())) {
                r = reference.evaluate(candidate, evaluation, inputs);
            }
            sink.accept(new ScanCell(c.name(), c.kind(), c.layer(), c.parameterCount(), cell.setting().toString(),
                    r.aggregates(), r.fdtQ(75), (System.nanoTime() - t0) / 1e9));
        }
    }
}
