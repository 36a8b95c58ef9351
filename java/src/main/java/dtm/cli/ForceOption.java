package dtm.cli;

import picocli.CommandLine.Option;

/** --force: replace an existing output that is not one of dtm's own of that kind. */
final class ForceOption {
    @Option(names = "--force",
            description = "Replace an existing output that dtm did not write (without it such a file or "
                    + "non-empty directory is refused; dtm's own earlier outputs are always replaced). "
                    + "An input of the command or a path that is no regular file is refused even so.")
    boolean force;
}
