package dtm.cli;

import dtm.metrics.Progress;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;

/**
 * Shows the progress of long work on stderr: a bar per task on a terminal, plain log lines
 * ({@link ProgressLog}) when stderr is a file or pipe, or nothing.
 */
final class ProgressDisplay implements Progress, AutoCloseable {
    /** How progress is shown. */
    enum Mode {
        /** A bar per task, redrawn in place (needs a terminal). */
        BAR,
        /** A line when a task starts and ends and about every 10 s between. */
        LOG,
        /** Nothing. */
        OFF
    }

    private final PrintStream err;
    private final Mode mode;
    private final ProgressLog log;
    private ProgressBar bar;
    private String barTask;

    ProgressDisplay(PrintStream err, Mode mode) {
        this.err = err;
        this.mode = mode;
        this.log = mode == Mode.LOG ? new ProgressLog(err, System::nanoTime) : null;
    }

    /**
     * --progress (true: bars), --no-progress (false: nothing), or neither (null): bars when stderr
     * is a terminal, log lines when it is not.
     */
    static ProgressDisplay forOption(Boolean option) {
        Mode mode = option == null ? (Terminal.stderrIsTerminal() ? Mode.BAR : Mode.LOG)
                : option ? Mode.BAR : Mode.OFF;
        return new ProgressDisplay(System.err, mode);
    }

    @Override
    public void update(String task, long done, long total) {
        switch (mode) {
            case OFF -> {
            }
            case LOG -> log.update(task, done, total);
            case BAR -> drawBar(task, done, total);
        }
    }

    @Override
    public void message(String task, String text) {
        switch (mode) {
            case OFF -> {
            }
            case LOG -> log.message(task, text);
            case BAR -> {
                if (bar != null && task.equals(barTask)) {
                    bar.setExtraMessage(text);
                }
            }
        }
    }

    private void drawBar(String task, long done, long total) {
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
