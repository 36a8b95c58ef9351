package dtm.cli;

import dtm.metrics.Progress;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress as plain lines, for a stderr that is a file or a pipe (CI, scripts), as llama.cpp's
 * tools print it: one line when a task starts, one about every {@value #INTERVAL_SECONDS} s while
 * it runs (units done / total, elapsed time, estimated time left) and one when it ends.
 * <pre>
 * dtm: reference: 0/64
 * dtm: reference: 12/64 (18.8 %), elapsed 10s, ETA 43s
 * dtm: reference: 64/64 done in 54s
 * </pre>
 */
final class ProgressLog implements Progress {
    /** Seconds between two lines of one task. */
    static final int INTERVAL_SECONDS = 10;

    private final PrintStream err;
    private final LongSupplier nanoTime;
    private String task;
    private long startNanos;
    private long lastLineNanos;
    private String message = "";

    /**
     * @param err      where to print
     * @param nanoTime the clock ({@code System::nanoTime}; a test's own)
     */
    ProgressLog(PrintStream err, LongSupplier nanoTime) {
        this.err = err;
        this.nanoTime = nanoTime;
    }

    @Override
    public void update(String task, long done, long total) {
        long now = nanoTime.getAsLong();
        if (!task.equals(this.task)) {
            this.task = task;
            message = "";
            startNanos = now;
            lastLineNanos = now;
            if (done < total) {
                err.printf(Locale.ROOT, "dtm: %s: %d/%d%n", task, done, total);
            }
        }
        if (done >= total) {
            err.printf(Locale.ROOT, "dtm: %s: %d/%d done in %s%s%n", task, done, total, duration(now - startNanos),
                    message);
            this.task = null;
        } else if (now - lastLineNanos >= INTERVAL_SECONDS * 1_000_000_000L) {
            lastLineNanos = now;
            long elapsed = now - startNanos;
            String eta = done > 0 ? duration((long) ((double) elapsed / done * (total - done))) : "unknown";
            err.printf(Locale.ROOT, "dtm: %s: %d/%d (%.1f %%), elapsed %s, ETA %s%s%n", task, done, total,
                    100.0 * done / total, duration(elapsed), eta, message);
        }
    }

    /** Shown after the task's next lines, e.g. ", loss 0.412, 1450 tokens/s". */
    @Override
    public void message(String task, String text) {
        if (task.equals(this.task)) {
            message = text == null || text.isEmpty() ? "" : ", " + text;
        }
    }

    /** "7s", "2m05s", "1h02m", for a span of nanoseconds. */
    static String duration(long nanos) {
        long s = Math.round(nanos / 1e9);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60);
    }
}
