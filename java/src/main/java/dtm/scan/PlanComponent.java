package dtm.scan;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A component a plan search may compress: its name and size (its weight in parameter-weighted
 * means).
 *
 * @param name       e.g. "model.layers.3.mlp.down_proj"
 * @param parameters weights in it
 */
public record PlanComponent(String name, long parameters) {
    public PlanComponent {
        Objects.requireNonNull(name, "name");
        if (parameters < 1) {
            throw new IllegalArgumentException("component " + name + ": parameters must be >= 1, got " + parameters);
        }
    }

    /** The components of a scan, each once, in the scan's order. */
    public static List<PlanComponent> of(ScanResult scan) {
        Map<String, Long> seen = new LinkedHashMap<>();
        for (ScanCell c : scan.cells()) {
            seen.putIfAbsent(c.component(), c.parameters());
        }
        List<PlanComponent> out = new ArrayList<>();
        seen.forEach((name, parameters) -> out.add(new PlanComponent(name, parameters)));
        return out;
    }

    /** Σ parameters. */
    public static long totalParameters(List<PlanComponent> components) {
        long total = 0;
        for (PlanComponent c : components) {
            total += c.parameters();
        }
        return total;
    }
}
