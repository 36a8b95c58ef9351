package dtm.metrics;

import dtm.reference.TinyHfCheckpointWriter;
import dtm.reference.TinyHfCheckpointWriter.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The model hash of a Hugging Face checkpoint directory: the files that define its weights, nothing else. */
class ModelFingerprintTest {
    @TempDir
    Path tmp;

    @Test
    void aCheckpointIsIdentifiedByItsConfigAndWeightFilesWhereverItLies() throws IOException {
        Path a = TinyHfCheckpointWriter.write(tmp.resolve("a"), Spec.llama().withShards(2), 3);
        Path b = copy(a, tmp.resolve("b"));
        String manifest = ModelFingerprint.checkpointManifest(a);
        List<String> names = manifest.lines().map(line -> line.substring(0, line.indexOf(' '))).toList();
        assertEquals(List.of("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json"), names);
        assertEquals(manifest, ModelFingerprint.checkpointManifest(b), "a copy elsewhere is the same model");

        Files.writeString(b.resolve("README.md"), "notes");
        Files.writeString(b.resolve("tokenizer.json"), "{}");
        assertEquals(manifest, ModelFingerprint.checkpointManifest(b), "files beside the weights do not count");

        Path shard = b.resolve("model-00002-of-00002.safetensors");
        byte[] bytes = Files.readAllBytes(shard);
        bytes[bytes.length - 1] ^= 1;
        Files.write(shard, bytes);
        assertNotEquals(manifest, ModelFingerprint.checkpointManifest(b), "a changed weight is another model");
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }
}
