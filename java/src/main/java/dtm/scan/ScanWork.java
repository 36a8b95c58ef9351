package dtm.scan;

import dtm.compress.Plan;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Model;

import java.util.List;
import java.util.Objects;

/**
 * Cells to run, grouped by the layer whose inputs they start from: each compresses one component
 * of a starting candidate further by one setting. For a scan the starting candidate is the base;
 * for a step of the pruning search ({@link PruningSearch}) it is the current plan's candidate.
 *
 * @param base             the base model
 * @param reference        the base's reference the cells are evaluated against
 * @param layers           the layers with cells, in increasing layer order
 * @param cacheLayerInputs start each cell at its layer from cached inputs (else a full pass)
 * @param run              sessions and chunking of every evaluation (no progress: the caller
 *                         reports progress as cells arrive)
 * @param onTopOf          the plan whose candidate the cells start from (no Wanda); null = the
 *                         base itself
 */
public record ScanWork(Model base, Reference reference, List<LayerCells> layers, boolean cacheLayerInputs,
                       RunOptions run, Plan onTopOf) {
    public ScanWork {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(reference, "reference");
        layers = List.copyOf(layers);
        Objects.requireNonNull(run, "run");
        if (onTopOf != null && onTopOf.needsCalibration()) {
            throw new IllegalArgumentException("cells on top of a plan with Wanda need a calibration: run them "
                    + "in the driver");
        }
    }

    /** Cells of the base itself (a scan). */
    public ScanWork(Model base, Reference reference, List<LayerCells> layers, boolean cacheLayerInputs,
                    RunOptions run) {
        this(base, reference, layers, cacheLayerInputs, run, null);
    }

    /** Cells in all layers. */
    public int cellCount() {
        return layers.stream().mapToInt(l -> l.cells().size()).sum();
    }

    /**
     * The candidate the cells start from, which the caller closes: {@code base} with {@link #onTopOf()}
     * applied, or null when there is no plan (start from {@code base} itself).
     */
    public static Model startOf(Model base, Plan onTopOf, int threads) {
        return onTopOf == null ? null : onTopOf.apply(base, null, threads);
    }
}
