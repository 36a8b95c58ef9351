package dtm.cli;

import picocli.CommandLine.Option;

/** Options every subcommand takes. */
final class CommonOptions {
    @Option(names = "--verbose", description = "Say more on stderr: timings, and the stack trace of an error.")
    boolean verbose;
}
