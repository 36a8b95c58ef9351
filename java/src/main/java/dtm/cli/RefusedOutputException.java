package dtm.cli;

import java.nio.file.Path;

/** A command refused to write where it was told to, so as not to destroy what is there. */
final class RefusedOutputException extends IllegalArgumentException {
    private final Path path;

    RefusedOutputException(Path path, String why) {
        super("refusing to write " + path + ": " + why);
        this.path = path;
    }

    /** The output path as given. */
    Path path() {
        return path;
    }
}
