package dtm.metrics;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Arrays;
import java.util.Objects;

/**
 * The order statistics of DESIGN §1, on plain arrays.
 *
 * <ul>
 *   <li><b>Percentiles</b> (median = p50, p10, p25, p75, p90) interpolate linearly between
 *       closest ranks (Hyndman-Fan type 7, the default of numpy and R): for sorted values
 *       x_0 ≤ … ≤ x_{n-1}, p-th percentile = x_⌊h⌋ + (h − ⌊h⌋)(x_⌊h⌋+1 − x_⌊h⌋) with
 *       h = (n − 1)·p/100. The median of an even count is the mean of the two middle values.
 *   <li><b>FDT_q</b> = the largest v such that at least q % of the samples have FDT ≥ v. For
 *       0 &lt; q ≤ 100 that is the k-th largest FDT with k = ⌈q·n/100⌉ (computed exactly in
 *       decimal), always an observed value; FDT_100 = the minimum; FDT_0 is defined as the
 *       maximum (the limit q → 0+). FDT_75 is thus a 25th percentile, but in this
 *       "reached by at least q %" sense, not interpolated.
 * </ul>
 */
public final class Statistics {
    private Statistics() {
    }

    /**
     * The p-th percentile (0 ≤ p ≤ 100) of {@code sorted} (ascending, no NaN), interpolated
     * linearly between closest ranks; NaN for an empty array.
     */
    public static double percentile(double[] sorted, double p) {
        Objects.requireNonNull(sorted, "sorted");
        if (!(p >= 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
        }
        int n = sorted.length;
        if (n == 0) {
            return Double.NaN;
        }
        double h = (n - 1) * p / 100.0;
        int lo = (int) Math.floor(h);
        if (lo >= n - 1) {
            return sorted[n - 1];
        }
        double frac = h - lo;
        return frac == 0 ? sorted[lo] : sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
    }

    /**
     * FDT_q: the largest v such that at least q % of the samples have FDT ≥ v (see the class
     * comment; q = 0 gives the maximum).
     *
     * @throws IllegalArgumentException q outside [0, 100], or no samples
     */
    public static int fdtQ(int[] fdt, double q) {
        Objects.requireNonNull(fdt, "fdt");
        if (!(q >= 0 && q <= 100)) {
            throw new IllegalArgumentException("q must be in [0, 100], got " + q);
        }
        if (fdt.length == 0) {
            throw new IllegalArgumentException("FDT_q of no samples");
        }
        int n = fdt.length;
        // k = ceil(q * n / 100), exactly (q = 75 and n = 8 give 6, not 6.000000000000001 -> 7).
        int k = new BigDecimal(Double.toString(q)).multiply(BigDecimal.valueOf(n))
                .divide(BigDecimal.valueOf(100), 0, RoundingMode.CEILING).intValueExact();
        k = Math.max(k, 1);
        int[] sorted = fdt.clone();
        Arrays.sort(sorted);
        return sorted[n - k]; // the k-th largest
    }

    /** The values as doubles. */
    static double[] toDouble(int[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }
}
