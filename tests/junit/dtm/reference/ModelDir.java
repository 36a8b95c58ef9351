package dtm.reference;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.junit.jupiter.api.Assumptions;

/**
 * Locates the default model (stories15M.bin + tokenizer.bin) for tests: the system property
 * {@code dtm.modelDir}, else the environment variable {@code DTM_MODEL_DIR}. Tests that need it
 * are skipped (JUnit assumption) when neither names a folder holding both files.
 */
public final class ModelDir {

    public static final String MODEL_FILE = "stories15M.bin";
    public static final String TOKENIZER_FILE = "tokenizer.bin";

    private ModelDir() {}

    /** The folder holding both files, if one is configured. */
    public static Optional<Path> dir() {
        String dir = System.getProperty("dtm.modelDir");
        if (dir == null || dir.isBlank()) {
            dir = System.getenv("DTM_MODEL_DIR");
        }
        if (dir == null || dir.isBlank()) {
            return Optional.empty();
        }
        Path path = Path.of(dir);
        return Files.isRegularFile(path.resolve(MODEL_FILE))
                        && Files.isRegularFile(path.resolve(TOKENIZER_FILE))
                ? Optional.of(path)
                : Optional.empty();
    }

    /** The model file; skips the calling test when it is not configured. */
    public static Path assumeModel() {
        return assumeDir().resolve(MODEL_FILE);
    }

    /** The tokenizer file; skips the calling test when it is not configured. */
    public static Path assumeTokenizer() {
        return assumeDir().resolve(TOKENIZER_FILE);
    }

    private static Path assumeDir() {
        Optional<Path> dir = dir();
        Assumptions.assumeTrue(dir.isPresent(),
                "default model not found: set -Ddtm.modelDir or DTM_MODEL_DIR to a folder with "
                        + MODEL_FILE + " and " + TOKENIZER_FILE);
        return dir.get();
    }
}
