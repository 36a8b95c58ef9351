package dtm.metrics;

import java.util.Arrays;
import java.util.Objects;

/**
 * The aggregates of one per-sample metric over a prompt set (DESIGN §1): mean, median, min,
 * p10, p25, p75, p90, and max. Percentiles interpolate linearly between closest ranks (see
 * {@link Statistics}). NaN values (e.g. KL without base information) are left out and
 * {@code count} says how many values were used; with none, every figure is NaN.
 *
 * @param count  values summarised
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

    /** The summary of {@code values} (NaN left out). */
    public static Summary of(double[] values) {
        Objects.requireNonNull(values, "values");
        double[] sorted = Arrays.stream(values).filter(v -> !Double.isNaN(v)).sorted().toArray();
        int n = sorted.length;
        if (n == 0) {
            double nan = Double.NaN;
            return new Summary(0, nan, nan, nan, nan, nan, nan, nan, nan);
        }
        double sum = 0;
        for (double v : sorted) {
            sum += v;
        }
        return new Summary(n, sum / n, Statistics.percentile(sorted, 50), sorted[0],
                Statistics.percentile(sorted, 10), Statistics.percentile(sorted, 25),
                Statistics.percentile(sorted, 75), Statistics.percentile(sorted, 90), sorted[n - 1]);
    }

    /** The summary of integer values. */
    public static Summary of(int[] values) {
        return of(Statistics.toDouble(values));
    }
}
