package dtm.cli;

import picocli.CommandLine.Option;

/** --progress / --no-progress: how a long command shows how far it is. */
final class ProgressOption {
    @Option(names = "--progress", negatable = true,
            description = "Show progress on stderr: bars with ETA on a terminal; when stderr is a file or pipe, "
                    + "a line per stage and about every 10 s (done / total, elapsed, ETA). --progress draws "
                    + "bars even so, --no-progress shows nothing.")
    Boolean progress;

    /** The display these options ask for; the caller closes it. */
    ProgressDisplay open() {
        return ProgressDisplay.forOption(progress);
    }
}
