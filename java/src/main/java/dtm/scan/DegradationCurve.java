package dtm.scan;

import java.util.Arrays;

/**
 * The piecewise-linear map from added sparsity to FDT that one step of Algorithm 1 builds for
 * one component (DESIGN.md §3): through the knots (0 → N), (t/2 → f1), (3t/2 → f2) and
 * (1 → 0), where "1" means the whole matrix pruned.
 *
 * <p>How the knots are made usable, each a documented decision:
 * <ul>
 *   <li><b>Room.</b> Added sparsity runs over [0, R] with R = 1 − current sparsity (the total can
 *       not pass 1). The knot (1 → 0) is "total sparsity 1 gives FDT 0", i.e. (R → 0); the knots
 *       t/2 and 3t/2 are clamped to R (the evaluator measures at total sparsity at most 1). In a
 *       first step (current sparsity 0) R = 1 and the knots are exactly the paper's.</li>
 *   <li><b>Range.</b> Measured values are clamped to [0, N].</li>
 *   <li><b>Monotone.</b> Measurements are noisy and FDT may rise with sparsity; the map takes the
 *       running minimum of the knot values from left to right, so it never credits a component
 *       for being pruned more: a knot higher than an earlier one is lowered to it.</li>
 *   <li><b>Coinciding knots</b> (after clamping) keep the smallest value, the last after the
 *       running minimum.</li>
 * </ul>
 * The result is continuous and non-increasing on [0, R].
 */
public final class DegradationCurve {
    private final double[] sparsity;  // (knots): added sparsity, strictly increasing from 0 (one knot when R = 0)
    private final double[] fdt;       // (knots): FDT at each knot, non-increasing

    private DegradationCurve(double[] sparsity, double[] fdt) {
        this.sparsity = sparsity;
        this.fdt = fdt;
    }

    /**
     * The map of one component for a step of target added sparsity {@code t} and continuation
     * length {@code n}.
     */
    public static DegradationCurve of(ComponentCurve c, double t, int n) {
        if (!(t >= 0 && t <= 1)) {
            throw new IllegalArgumentException("target added sparsity must be in [0, 1], got " + t);
        }
        if (n < 1) {
            throw new IllegalArgumentException("N must be >= 1, got " + n);
        }
        double room = c.room();
        double[] xs = {0, Math.min(t / 2, room), Math.min(3 * t / 2, room), room};
        double[] ys = {n, Math.min(c.atHalf(), n), Math.min(c.atThreeHalves(), n), 0};
        for (int i = 1; i < ys.length; i++) {
            ys[i] = Math.min(ys[i], ys[i - 1]);
        }
        double[] keptX = new double[xs.length];
        double[] keptY = new double[xs.length];
        int kept = 0;
        for (int i = 0; i < xs.length; i++) {
            if (kept > 0 && xs[i] == keptX[kept - 1]) {
                keptY[kept - 1] = ys[i];  // coinciding knot: the later value is the smaller
            } else {
                keptX[kept] = xs[i];
                keptY[kept] = ys[i];
                kept++;
            }
        }
        return new DegradationCurve(Arrays.copyOf(keptX, kept), Arrays.copyOf(keptY, kept));
    }

    /** The largest added sparsity this component may get: 1 − its current sparsity. */
    public double room() {
        return sparsity[sparsity.length - 1];
    }

    /** The interpolated FDT at added sparsity {@code a} (clamped to [0, room]). */
    public double valueAt(double a) {
        if (a <= 0) {
            return fdt[0];
        }
        for (int k = 1; k < sparsity.length; k++) {
            if (a <= sparsity[k]) {
                double share = (a - sparsity[k - 1]) / (sparsity[k] - sparsity[k - 1]);
                return fdt[k - 1] + share * (fdt[k] - fdt[k - 1]);
            }
        }
        return fdt[fdt.length - 1];
    }

    /**
     * The largest added sparsity whose interpolated FDT is at least {@code threshold}: room when
     * the map never falls below it, 0 when even no pruning does not reach it.
     */
    public double largestSparsityAtLeast(double threshold) {
        int last = sparsity.length - 1;
        if (fdt[last] >= threshold) {
            return sparsity[last];
        }
        for (int k = 0; k <= last; k++) {
            if (fdt[k] < threshold) {
                if (k == 0) {
                    return 0;
                }
                // fdt[k-1] >= threshold > fdt[k]: the crossing lies on this segment.
                double share = (fdt[k - 1] - threshold) / (fdt[k - 1] - fdt[k]);
                return sparsity[k - 1] + share * (sparsity[k] - sparsity[k - 1]);
            }
        }
        return sparsity[last];
    }

    /** The knots as (added sparsity, FDT) pairs, for evidence and tests. */
    public double[][] knots() {
        double[][] out = new double[sparsity.length][];
        for (int i = 0; i < sparsity.length; i++) {
            out[i] = new double[] {sparsity[i], fdt[i]};
        }
        return out;
    }
}
