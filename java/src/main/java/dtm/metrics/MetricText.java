package dtm.metrics;

import java.util.Locale;

/**
 * How a metric's value reads in tables and CSV files. A value that is not finite (a candidate
 * that computes NaN or infinity) is named as such, never shown as a number; a metric that was
 * not measured at all is the caller's to show (as "-" or an empty field). JSON writes non-finite
 * numbers as null ({@link MetricsJson}).
 */
public final class MetricText {
    private MetricText() {
    }

    /** For tables: {@code format} applied (Locale.ROOT), or "nan", "inf", "-inf". */
    public static String table(String format, double value) {
        if (Double.isNaN(value)) {
            return "nan";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "inf" : "-inf";
        }
        return String.format(Locale.ROOT, format, value);
    }

    /** For CSV: Java's shortest round-trip form, or "NaN", "Inf", "-Inf" (read as such by R and Python). */
    public static String csv(double value) {
        if (Double.isNaN(value)) {
            return "NaN";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "Inf" : "-Inf";
        }
        return Double.toString(value);
    }
}
