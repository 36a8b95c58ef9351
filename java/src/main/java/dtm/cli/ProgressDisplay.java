package dtm.cli;

import dtm.metrics.Progress;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;

/** Draws the progress of long work as a bar on stderr, one bar per task; or nothing when disabled. */
final class ProgressBars implements Progress, AutoCloseable {
    private final PrintStream err;
    private final boolean enabled;
    private ProgressBar bar;
    private String barTask;

    /**
     * @param err     where to draw
     * @param enabled draw at all
     */
    ProgressBars(PrintStream err, boolean enabled) {
        this.err = err;
        this.enabled = enabled;
    }

    /** --progress / --no-progress given (true/false), or null: draw when stderr is a terminal. */
    static ProgressBars forOption(Boolean option) {
        return new ProgressBars(System.err, option != null ? option : Terminal.stderrIsTerminal());
    }

    @Override
    public void update(String task, long done, long total) {
        if (!enabled) {
            return;
        }
        if (bar == null || !task.equals(barTask)) {
            closeBar();
            bar = new ProgressBarBuilder()
                    .setTaskName(task)
                    .setInitialMax(total)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setConsumer(new ConsoleProgressBarConsumer(err))
                    .setUpdateIntervalMillis(250)
                    .showSpeed()
                    .build();
            barTask = task;
        }
        bar.stepTo(done);
        if (done >= total) {
            closeBar();
        }
    }

    @Override
    public void close() {
        closeBar();
    }

    private void closeBar() {
        if (bar != null) {
            bar.close();
            bar = null;
            barTask = null;
        }
    }
}
