package dtm.scan;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One step of FDT-guided pruning (DESIGN.md §3; the paper's Algorithm 1) and its result: how
 * much sparsity each component gets so that the parameter-weighted mean added sparsity is the
 * step's target t.
 *
 * <p>{@link #compute} is a pure function. For each component it builds the
 * {@link DegradationCurve} through (0 → N), (t/2 → f1), (3t/2 → f2), (1 → 0); then it lowers a
 * threshold f from N in steps of 1 and gives each component the largest added sparsity whose
 * interpolated FDT is ≥ f, stopping at the first f where the parameter-weighted mean added
 * sparsity reaches t.
 *
 * <p><b>Hitting t exactly.</b> The last step of the threshold (from f + 1 to f) usually
 * overshoots t. Each component then gets a(f+1) + λ·(a(f) − a(f+1)), with one λ in (0, 1] for
 * all, chosen so that the weighted mean is exactly t: the last threshold step is taken in part,
 * in proportion to what each component would have gained from it. Allocations above N (before
 * the first step) are 0, so when f = N already overshoots every component gets the share λ of
 * its allocation at N. Every component's interpolated FDT stays ≥ f (the map is
 * non-increasing and a(f+1) ≤ allocation ≤ a(f)). A target of 0 gives nothing to anyone and
 * reports f = N.
 *
 * @param target         t, the step's target parameter-weighted mean added sparsity
 * @param n              N, FDT's largest value
 * @param threshold      the threshold f at which the mean reached t
 * @param lastStepShare  λ, the part of the last threshold step taken (see above)
 * @param allocations    one per component, in input order
 */
public record SparsityAllocation(double target, int n, int threshold, double lastStepShare,
                                 List<ComponentAllocation> allocations) {
    /** Slack for rounding when comparing the target with what the components can still give. */
    private static final double TOLERANCE = 1e-12;

    public SparsityAllocation {
        allocations = List.copyOf(allocations);
    }

    /**
     * Runs one step of Algorithm 1.
     *
     * @param curves one per component (names distinct)
     * @param target t, the parameter-weighted mean added sparsity to reach, in [0, 1]
     * @param n      N, FDT's largest value (the map's value at no added sparsity)
     * @throws IllegalArgumentException the target is more than the components can still lose
     *                                  (their parameter-weighted mean of 1 − current sparsity), or
     *                                  a bad argument
     */
    public static SparsityAllocation compute(List<ComponentCurve> curves, double target, int n) {
        Objects.requireNonNull(curves, "curves");
        if (curves.isEmpty()) {
            throw new IllegalArgumentException("Algorithm 1 needs at least one component");
        }
        if (!(target >= 0 && target <= 1)) {
            throw new IllegalArgumentException("target added sparsity must be in [0, 1], got " + target);
        }
        if (n < 1) {
            throw new IllegalArgumentException("N must be >= 1, got " + n);
        }
        Set<String> names = new HashSet<>();
        double total = 0;
        double room = 0;
        for (ComponentCurve c : curves) {
            if (!names.add(c.component())) {
                throw new IllegalArgumentException("component " + c.component() + " is given twice");
            }
            total += c.parameters();
            room += c.parameters() * c.room();
        }
        if (target > room / total + TOLERANCE) {
            throw new IllegalArgumentException("target added sparsity " + target + " is more than the components can "
                    + "still lose: their parameter-weighted mean room is " + room / total);
        }
        int count = curves.size();
        List<DegradationCurve> maps = new ArrayList<>(count);
        for (ComponentCurve c : curves) {
            maps.add(DegradationCurve.of(c, target, n));
        }
        double[] before = new double[count];  // allocation at threshold f + 1 (0 above N)
        double beforeMean = 0;
        for (int f = n; f >= 0; f--) {
            double[] now = new double[count];
            double weighted = 0;
            for (int i = 0; i < count; i++) {
                now[i] = maps.get(i).largestSparsityAtLeast(f);
                weighted += curves.get(i).parameters() * now[i];
            }
            double mean = weighted / total;
            if (mean >= target || f == 0) {
                double share = mean > beforeMean ? (target - beforeMean) / (mean - beforeMean) : 1.0;
                share = Math.max(0.0, Math.min(1.0, share));
                List<ComponentAllocation> out = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    double added = before[i] + share * (now[i] - before[i]);
                    out.add(new ComponentAllocation(curves.get(i), added, maps.get(i).valueAt(added)));
                }
                return new SparsityAllocation(target, n, f, share, out);
            }
            before = now;
            beforeMean = mean;
        }
        throw new IllegalStateException("unreachable: the threshold 0 always stops");
    }

    /** The parameter-weighted mean added sparsity (equals {@link #target()} up to rounding). */
    public double meanAdded() {
        double weighted = 0;
        double total = 0;
        for (ComponentAllocation a : allocations) {
            weighted += a.curve().parameters() * a.added();
            total += a.curve().parameters();
        }
        return weighted / total;
    }

    /** The allocation of a component, or null when it was not in this step. */
    public ComponentAllocation of(String component) {
        for (ComponentAllocation a : allocations) {
            if (a.component().equals(component)) {
                return a;
            }
        }
        return null;
    }
}
