package dtm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dtm.compress.Plan;
import dtm.data.DefaultModel;
import dtm.metrics.RunOptions;
import dtm.metrics.TextPerplexity;
import dtm.model.Compression;
import dtm.model.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** dtm export, and the same candidate measured by dtm perplexity / dtm generate. */
class ExportCliTest {
    private static final String TEXT = "Once upon a time, there was a little girl named Lily. She loved to play "
            + "outside in the sunshine. One day, she saw a big, red ball in the sky. It was the sun! She wanted to "
            + "touch it, so she ran and ran. Her mom said, \"Lily, the sun is too far away.\" Lily was sad, but then "
            + "she saw a butterfly. The butterfly was pretty and blue. Lily followed it to the garden, where her "
            + "dog Max was sleeping under a tree. They played together until the moon came up.";

    private static Model base;

    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @BeforeAll
    static void load() throws IOException {
        base = DefaultModel.load();
    }

    @AfterAll
    static void close() {
        base.close();
    }

    @Test
    void exportWritesGgufAndSaysWhatIsNotBitwise() {
        Path out = tmp.resolve("sub").resolve("int8.gguf");
        assertEquals(0, Main.run("export", "--compress", "model.layers.*=int8", "--format", "gguf", "--out",
                out.toString(), "--threads", "2"), console.err());
        assertTrue(Files.isRegularFile(out));
        assertEquals(out.toAbsolutePath().toString(), console.out().trim());
        assertTrue(console.err().contains("note: 42 components (model.layers.0.self_attn.q_proj, ...): int8 has no "
                + "GGUF type; written as Q8_0"), console.err());
        assertTrue(console.err().contains("wrote " + out), console.err());
    }

    @Test
    void exportWritesACheckpointAndRefusesWhatItCannotHold() throws IOException {
        Path out = tmp.resolve("w8a8");
        assertEquals(0, Main.run("export", "--compress", "model.layers.*=int8", "--format", "hf", "--out",
                out.toString()), console.err());
        JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("int-quantized", config.path("quantization_config").path("format").asText());
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));

        console.reset();
        assertEquals(Main.EXIT_ERROR, Main.run("export", "--compress", "model.layers.*=q4_0", "--format", "hf",
                "--out", tmp.resolve("q4").toString()));
        String err = console.err().trim();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.contains("model.layers.0.self_attn.q_proj is q4_0, which no compressed-tensors scheme holds"),
                err);
        console.reset();
        assertEquals(Main.EXIT_USAGE, Main.run("export", "--format", "onnx", "--out", tmp.resolve("x").toString()));
        assertTrue(console.err().contains("expected gguf or hf, got 'onnx'"), console.err());
    }

    @Test
    void aPlanMadeForAnotherBaseIsRefusedAndOneForThisBaseIsTaken() {
        Plan plan = Plan.of("model.layers.*", Compression.parse("q8_0"));
        Path other = tmp.resolve("other.json");
        plan.withBase("0123456789abcdef").write(other);
        Path gguf = tmp.resolve("q8.gguf");
        assertEquals(Main.EXIT_ERROR, Main.run("export", "--plan", other.toString(), "--format", "gguf", "--out",
                gguf.toString()));
        String err = console.err().trim();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.contains("was made for the base with fingerprint 0123456789abcdef, not for stories15M.bin "
                + "(fingerprint " + base.fingerprint() + ")"), err);
        assertFalse(Files.exists(gguf));
        // eval and the others take plans the same way
        console.reset();
        assertEquals(Main.EXIT_ERROR, Main.run("perplexity", "--plan", other.toString()));
        assertTrue(console.err().contains("was made for the base with fingerprint 0123456789abcdef"), console.err());

        Path mine = tmp.resolve("mine.json");
        plan.withBase(base.fingerprint()).write(mine);
        console.reset();
        assertEquals(0, Main.run("export", "--plan", mine.toString(), "--format", "gguf", "--out", gguf.toString()),
                console.err());
        assertTrue(Files.isRegularFile(gguf));
    }

    @Test
    void perplexityAndGenerateMeasureTheCandidateTheExportWrites() throws IOException {
        Path text = tmp.resolve("story.txt");
        Files.writeString(text, TEXT);
        try (Model candidate = Plan.of("model.layers.*", Compression.parse("q4_0")).apply(base, null, 2)) {
            double expected = TextPerplexity.of(candidate, TEXT, 32, RunOptions.defaults()).perplexity();
            double ofBase = TextPerplexity.of(base, TEXT, 32, RunOptions.defaults()).perplexity();
            assertNotEquals(ofBase, expected);
            assertEquals(0, Main.run("perplexity", "--compress", "model.layers.*=q4_0", "--text", text.toString(),
                    "--ctx", "32", "--json"), console.err());
            JsonNode json = new ObjectMapper().readTree(console.out());
            assertEquals(expected, json.path("perplexity").asDouble());
            assertTrue(json.path("candidateDescription").asText().endsWith("compressed by model.layers.*=q4_0"),
                    json.toString());

            console.reset();
            assertEquals(0, Main.run("generate", "-n", "40", "--compress", "model.layers.*=q4_0", "Once upon a time"),
                    console.err());
            assertEquals("Once upon a time" + candidate.generate("Once upon a time", 40).text(), console.out().trim());
            assertNotEquals(base.generate("Once upon a time", 40).text(), candidate.generate("Once upon a time", 40).text());
        }
    }
}
