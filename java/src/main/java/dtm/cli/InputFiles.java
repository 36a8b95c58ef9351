package dtm.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Checks a file a command is about to read, so that a wrong path fails with one line saying why. */
final class InputFiles {
    private InputFiles() {
    }

    /**
     * {@code file}, when it is a regular file this process may read; else an error naming
     * {@code option} ("--text"), the path and what is wrong with it.
     */
    static Path readableFile(String option, Path file) {
        if (!Files.exists(file)) {
            throw new IllegalArgumentException(option + " " + file + ": no such file");
        }
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException(option + " " + file + " is a directory; give a file");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(option + " " + file + " is not a regular file");
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(option + " " + file + ": permission denied (this user may not read it)");
        }
        return file;
    }
}
