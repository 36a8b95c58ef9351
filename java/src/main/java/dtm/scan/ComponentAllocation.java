package dtm.scan;

import java.util.Objects;

/**
 * What one step of Algorithm 1 gave one component.
 *
 * @param curve        the step's input for the component (size, current sparsity, measurements)
 * @param added        added sparsity chosen in this step, in [0, room]
 * @param interpolated the component's interpolated FDT at {@code added} (never below the step's
 *                     threshold)
 */
public record ComponentAllocation(ComponentCurve curve, double added, double interpolated) {
    public ComponentAllocation {
        Objects.requireNonNull(curve, "curve");
    }

    /** The component's name. */
    public String component() {
        return curve.component();
    }

    /** Its share of zero weights after the step: current + added (at most 1). */
    public double totalSparsity() {
        return Math.min(1.0, curve.currentSparsity() + added);
    }
}
