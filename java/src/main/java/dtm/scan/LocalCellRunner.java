package dtm.scan;

import dtm.metrics.LayerInputCache;

import java.util.function.Consumer;

/**
 * Runs a scan's cells in this process, layer by layer: each layer's inputs are captured from the
 * previous layer's (so all captures together cost one pass), then the layer's cells run from
 * them one after another.
 */
final class LocalCellRunner implements CellRunner {
    static final LocalCellRunner INSTANCE = new LocalCellRunner();

    private LocalCellRunner() {}

    @Override
    public void run(ScanWork work, Consumer<ScanCell> sink) {
        LayerInputCache cache = null;
        try {
            for (LayerCells layer : work.layers()) {
                if (work.cacheLayerInputs()) {
                    LayerInputCache next = work.reference().captureLayerInputs(work.base(), layer.layer(), cache,
                            work.run());
                    if (cache != null) {
                        cache.close();
                    }
                    cache = next;
                }
                layer.run(work.base(), work.reference(), work.cacheLayerInputs() ? cache : null, work.run(), sink);
            }
        } finally {
            if (cache != null) {
                cache.close();
            }
        }
    }
}
