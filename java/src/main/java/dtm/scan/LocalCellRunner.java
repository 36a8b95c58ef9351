package dtm.scan;

import dtm.compress.Plan;
import dtm.metrics.LayerInputCache;
import dtm.model.Model;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs cells and plans in this process: cells layer by layer, each layer's inputs captured from
 * the previous layer's (so all captures together cost one pass), then the layer's cells from
 * them one after another; plans one after another.
 */
final class LocalCellRunner implements CellRunner {
    static final LocalCellRunner INSTANCE = new LocalCellRunner();

    private LocalCellRunner() {}

    @Override
    public void run(ScanWork work, Consumer<ScanCell> sink) {
        try (Model start = ScanWork.startOf(work.base(), work.onTopOf(), work.run().session().threads())) {
            Model from = start != null ? start : work.base();
            LayerInputCache cache = null;
            try {
                for (LayerCells layer : work.layers()) {
                    if (work.cacheLayerInputs()) {
                        LayerInputCache next = work.reference().captureLayerInputs(from, layer.layer(), cache,
                                work.run());
                        if (cache != null) {
                            cache.close();
                        }
                        cache = next;
                    }
                    layer.run(from, work.reference(), work.cacheLayerInputs() ? cache : null, work.run(), sink);
                }
            } finally {
                if (cache != null) {
                    cache.close();
                }
            }
        }
    }

    @Override
    public List<PlanScores> evaluate(PlanWork work) {
        List<PlanScores> out = new ArrayList<>();
        for (Plan plan : work.plans()) {
            out.add(PlanScores.measure(work.base(), work.reference(), plan, work.scanned(), work.run()));
        }
        return out;
    }
}
