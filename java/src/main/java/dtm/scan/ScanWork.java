package dtm.scan;

import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Model;

import java.util.List;
import java.util.Objects;

/**
 * The cells a scan still has to run, grouped by the layer whose inputs they start from.
 *
 * @param base             the base model every cell compresses one component of
 * @param reference        the base's reference the cells are evaluated against
 * @param layers           the layers with cells left, in increasing layer order
 * @param cacheLayerInputs start each cell at its layer from cached inputs (else a full pass)
 * @param run              sessions and chunking of every evaluation (no progress: the scan
 *                         reports progress as cells arrive)
 */
public record ScanWork(Model base, Reference reference, List<LayerCells> layers, boolean cacheLayerInputs,
                       RunOptions run) {
    public ScanWork {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(reference, "reference");
        layers = List.copyOf(layers);
        Objects.requireNonNull(run, "run");
    }

    /** Cells in all layers. */
    public int cellCount() {
        return layers.stream().mapToInt(l -> l.cells().size()).sum();
    }
}
