package dtm.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Fetches a package tarball with {@code npm pack NAME@VERSION}, through the machine's own npm
 * set-up (registry, proxy, cache).
 */
public final class NpmPackSource implements PackageSource {
    private final List<String> npm;
    private final long timeoutSeconds;

    /** Runs "npm" from the PATH, with a 15-minute limit. */
    public NpmPackSource() {
        this(List.of("npm"), 15 * 60);
    }

    /**
     * @param npm            the command that stands for npm, e.g. ["npm"] or ["/opt/node/bin/npm"]
     * @param timeoutSeconds how long one pack may take
     */
    public NpmPackSource(List<String> npm, long timeoutSeconds) {
        if (npm.isEmpty()) {
            throw new IllegalArgumentException("empty npm command");
        }
        this.npm = List.copyOf(npm);
        this.timeoutSeconds = timeoutSeconds;
    }

    @Override
    public Path pack(String packageName, String version, Path directory) throws IOException {
        Objects.requireNonNull(directory, "directory");
        String spec = packageName + "@" + version;
        List<String> command = new ArrayList<>(npm);
        command.add("pack");
        command.add(spec);
        Path log = directory.resolve("npm-pack.log");
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .directory(directory.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
                    .start();
        } catch (IOException e) {
            throw new IOException("cannot run '" + String.join(" ", command)
                    + "' (is npm installed and on the PATH?): " + e.getMessage(), e);
        }
        try {
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("'npm pack " + spec + "' did not finish in " + timeoutSeconds + " s");
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for 'npm pack " + spec + "'", e);
        }
        if (process.exitValue() != 0) {
            throw new IOException("'npm pack " + spec + "' failed with exit code " + process.exitValue()
                    + ": " + tail(log, 5));
        }
        try (Stream<Path> files = Files.list(directory)) {
            List<Path> tarballs = files.filter(p -> p.getFileName().toString().endsWith(".tgz")).toList();
            if (tarballs.size() != 1) {
                throw new IOException("'npm pack " + spec + "' left " + tarballs.size()
                        + " tarballs in " + directory + ": " + tail(log, 5));
            }
            return tarballs.get(0);
        }
    }

    private static java.io.File nullDevice() {
        return new java.io.File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
    }

    /** The last non-blank lines of npm's output, on one line. */
    private static String tail(Path log, int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                    .map(String::strip).filter(line -> !line.isEmpty()).toList();
            String joined = String.join(" / ", all.subList(Math.max(0, all.size() - lines), all.size()));
            return joined.isEmpty() ? "(no output)" : joined;
        } catch (IOException e) {
            return "(no output)";
        }
    }
}
