package dtm.metrics;

import dtm.model.Model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What identifies a model for a reference: the SHA-256 of its model file and of its tokenizer
 * file. Paths do not matter; a copy of the same files elsewhere has the same fingerprint.
 *
 * <p>For a Hugging Face checkpoint directory the model hash is that of a manifest of the files
 * that define the weights: {@code config.json}, {@code model.safetensors.index.json} when there
 * is one, and every {@code *.safetensors} file, sorted by name, one line {@code NAME SHA-256}
 * each (see {@link #checkpointManifest}). Other files of the directory (tokenizer, README) do
 * not count.
 *
 * @param modelSha256     SHA-256 of the model file (or checkpoint manifest), lower-case hex
 * @param tokenizerSha256 SHA-256 of the tokenizer file, lower-case hex
 */
public record ModelFingerprint(String modelSha256, String tokenizerSha256) {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    public ModelFingerprint {
        modelSha256 = check(modelSha256, "modelSha256");
        tokenizerSha256 = check(tokenizerSha256, "tokenizerSha256");
    }

    /**
     * The fingerprint of a loaded model: hashes its files (about 0.2 s per 60 MB; a file seen
     * before unchanged is not hashed again in this process).
     *
     * @throws java.io.UncheckedIOException a file cannot be read
     */
    public static ModelFingerprint of(Model model) {
        Objects.requireNonNull(model, "model");
        Path path = model.path();
        String modelHash = Files.isDirectory(path) ? Hashing.text(checkpointManifest(path)) : Hashing.file(path);
        return new ModelFingerprint(modelHash, tokenizerOf(model));
    }

    /**
     * The manifest of a checkpoint directory whose SHA-256 is its model hash: a line
     * {@code NAME SHA-256} for {@code config.json}, {@code model.safetensors.index.json} (when
     * present) and every {@code *.safetensors} file, sorted by name.
     *
     * @throws java.io.UncheckedIOException the directory or a file cannot be read
     */
    static String checkpointManifest(Path dir) {
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(Files::isRegularFile).filter(p -> definesWeights(p.getFileName().toString()))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the checkpoint " + dir + ": " + e.getMessage(), e);
        }
        StringBuilder manifest = new StringBuilder();
        for (Path file : files) {
            manifest.append(file.getFileName()).append(' ').append(Hashing.file(file)).append('\n');
        }
        return manifest.toString();
    }

    private static boolean definesWeights(String name) {
        return name.equals("config.json") || name.equals("model.safetensors.index.json")
                || name.endsWith(".safetensors");
    }

    /** SHA-256 of a model's tokenizer file: the tokenizer fingerprint of prompt sets. */
    public static String tokenizerOf(Model model) {
        Objects.requireNonNull(model, "model");
        return Hashing.file(model.tokenizerPath());
    }

    /** The first 12 hex digits of each hash, for messages. */
    public String shortForm() {
        return "model " + modelSha256.substring(0, 12) + ", tokenizer " + tokenizerSha256.substring(0, 12);
    }

    private static String check(String hash, String what) {
        Objects.requireNonNull(hash, what);
        String lower = hash.toLowerCase(Locale.ROOT);
        if (!SHA256.matcher(lower).matches()) {
            throw new IllegalArgumentException(what + " is not a SHA-256 in hex: " + hash);
        }
        return lower;
    }
}
