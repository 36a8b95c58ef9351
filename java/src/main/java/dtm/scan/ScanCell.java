package dtm.scan;

import dtm.metrics.Aggregates;
import dtm.model.ComponentKind;

import java.util.Objects;

/**
 * One cell of a scan: one component compressed alone by one setting, evaluated against the
 * base's reference (DESIGN.md §3).
 *
 * @param component  the component's name, e.g. "model.layers.3.mlp.down_proj"
 * @param kind       what the component is
 * @param layer      its decoder layer (-1 for the head)
 * @param parameters weights in the component
 * @param setting    the compression, in {@link dtm.model.Compression}'s text form, e.g. "magnitude:0.5"
 * @param aggregates the evaluation's aggregates over the prompt set (DESIGN.md §1)
 * @param fdt75      FDT_75: the largest v such that at least 75 % of samples have FDT ≥ v
 * @param seconds    wall time of the cell (compression and evaluation)
 */
public record ScanCell(String component, ComponentKind kind, int layer, long parameters, String setting,
                       Aggregates aggregates, int fdt75, double seconds) {
    public ScanCell {
        Objects.requireNonNull(component, "component");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(setting, "setting");
        Objects.requireNonNull(aggregates, "aggregates");
    }
}
