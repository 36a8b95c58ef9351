package dtm.metrics;

import java.util.Arrays;
import java.util.Objects;

/**
 * The aggregates of one per-sample metric over a prompt set (DESIGN §1): mean, median, min,
 * p10, p25, p75, p90, and max. Percentiles interpolate linearly between closest ranks (see
 * {@link Statistics}). A NaN among the values (a candidate that computes a non-finite result)
 * makes every figure NaN: it is never averaged away. A metric that was not measured at all (KL
 * without base information) is {@link #absent()}: count 0, every figure NaN.
 *
 * @param count  values summarised (0: not measured)
 * @param mean   arithmetic mean
 * @param median p50
 * @param min    smallest value
 * @param p10    10th percentile
 * @param p25    25th percentile
 * @param p75    75th percentile
 * @param p90    90th percentile
 * @param max    largest value
 */
public record Summary(int count, double mean, double median, double min, double p10, double p25,
                      double p75, double p90, double max) {

    /** The summary of {@code values}; every figure NaN when one of them is NaN. */
    public static Summary of(double[] values) {
        Objects.requireNonNull(values, "values");
        int n = values.length;
        double nan = Double.NaN;
        if (n == 0) {
            return absent();
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);  // NaN sorts last
        if (Double.isNaN(sorted[n - 1])) {
            return new Summary(n, nan, nan, nan, nan, nan, nan, nan, nan);
        }
        double sum = 0;
        for (double v : sorted) {
            sum += v;
        }
        return new Summary(n, sum / n, Statistics.percentile(sorted, 50), sorted[0],
                Statistics.percentile(sorted, 10), Statistics.percentile(sorted, 25),
                Statistics.percentile(sorted, 75), Statistics.percentile(sorted, 90), sorted[n - 1]);
    }

    /** A metric that was not measured: count 0, every figure NaN. */
    public static Summary absent() {
        double nan = Double.NaN;
        return new Summary(0, nan, nan, nan, nan, nan, nan, nan, nan);
    }

    /** Whether the metric was measured ({@code count > 0}); its figures may still be NaN. */
    public boolean measured() {
        return count > 0;
    }

    /** The summary of integer values. */
    public static Summary of(int[] values) {
        return of(Statistics.toDouble(values));
    }
}
