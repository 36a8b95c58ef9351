package dtm.cli;

import java.nio.file.Path;

/** A command refused to write where it was told to, so as not to destroy what is there. */
final class RefusedOutputException extends IllegalArgumentException {
    RefusedOutputException(Path path, String why) {
        super("refusing to write " + path + ": " + why);
    }
}
