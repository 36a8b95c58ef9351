package dtm.data;

import java.io.IOException;
import java.nio.file.Path;

/** Where package tarballs come from: {@link NpmPackSource} in production, fakes in tests. */
@FunctionalInterface
public interface PackageSource {

    /**
     * Puts the tarball (.tgz) of {@code packageName@version} into {@code directory}, an empty
     * directory, and returns its path.
     */
    Path pack(String packageName, String version, Path directory) throws IOException;
}
