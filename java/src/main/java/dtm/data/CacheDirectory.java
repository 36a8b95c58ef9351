package dtm.data;

import java.nio.file.Path;
import java.util.function.UnaryOperator;

/**
 * Where dtm keeps fetched files: {@code $DTM_CACHE_DIR} when set, else
 * {@code $XDG_CACHE_HOME/dtm}, else {@code ~/.cache/dtm}.
 */
public final class CacheDirectory {
    private CacheDirectory() {
    }

    /** The cache directory from this process's environment. */
    public static Path get() {
        return from(System::getenv, System.getProperty("user.home"));
    }

    /** The cache directory for the given environment and home directory. */
    public static Path from(UnaryOperator<String> env, String home) {
        String dtm = env.apply("DTM_CACHE_DIR");
        if (dtm != null && !dtm.isBlank()) {
            return Path.of(dtm).toAbsolutePath();
        }
        String xdg = env.apply("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "dtm").toAbsolutePath();
        }
        return Path.of(home, ".cache", "dtm").toAbsolutePath();
    }
}
