package dtm.cli;

import dtm.data.FetchListener;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;

/**
 * Shows a fetch on stderr: one line per step, and a progress bar per file when stderr is a
 * terminal.
 */
final class ProgressListener implements FetchListener, AutoCloseable {
    private final PrintStream err;
    private final boolean interactive;
    private ProgressBar bar;
    private String barFile;

    ProgressListener(PrintStream err) {
        this.err = err;
        this.interactive = System.console() != null;
    }

    @Override
    public void step(String message) {
        closeBar();
        err.println("dtm: " + message);
    }

    @Override
    public void progress(String file, long done, long total) {
        if (!interactive) {
            return;
        }
        if (bar == null || !file.equals(barFile)) {
            closeBar();
            bar = new ProgressBarBuilder()
                    .setTaskName(file)
                    .setInitialMax(total)
                    .setUnit(" MiB", 1L << 20)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setConsumer(new ConsoleProgressBarConsumer(err))
                    .setUpdateIntervalMillis(200)
                    .build();
            barFile = file;
        }
        bar.stepTo(done);
    }

    @Override
    public void done(String file) {
        closeBar();
        err.println("dtm: " + file + " verified");
    }

    @Override
    public void close() {
        closeBar();
    }

    private void closeBar() {
        if (bar != null) {
            bar.close();
            bar = null;
            barFile = null;
        }
    }
}
