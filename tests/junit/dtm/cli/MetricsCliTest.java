package dtm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dtm.data.DefaultModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** dtm eval, dtm reference and dtm perplexity on the default model. */
class MetricsCliTest {
    private static DefaultModel.ModelFiles files;

    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @BeforeAll
    static void fetch() throws IOException {
        files = DefaultModel.fetch();
    }

    private String out() {
        return console.out();
    }

    private String err() {
        return console.err();
    }

    @Test
    void evalOfTheDefaultModelAgainstItselfIsASelfCheck() throws IOException {
        Path ref = tmp.resolve("self.dtmref");
        Path csv = tmp.resolve("samples.csv");
        int code = Main.run("eval", "--count", "8", "--prompt-tokens", "32", "-n", "32", "--threads", "2",
                "--reference", ref.toString(), "--csv", csv.toString());
        assertEquals(0, code, err());
        String table = out();
        assertTrue(table.contains("identical   8 of 8 samples (FDT = N, SDT = 0)"), table);
        assertTrue(table.matches("(?s).*\\nFDT +32\\.0 +32\\.0 +32\\.0 .*"), table);
        assertTrue(table.matches("(?s).*\\nSDT +0\\.0 +0\\.0 +0\\.0 .*"), table);
        assertTrue(table.contains("FDT_75 = 32"), table);
        assertTrue(table.contains("KL          approximate"), table);
        assertTrue(err().contains("generating the reference"), err());
        List<String> rows = Files.readAllLines(csv);
        assertEquals(9, rows.size());
        assertTrue(rows.get(0).startsWith("index,prompt_tokens,n,fdt,sdt"), rows.get(0));
        assertTrue(rows.get(1).startsWith("0,33,32,32,0,"), rows.get(1));

        // The reference file now exists: without prompt options it is used as it is.
        console.reset();
        assertEquals(0, Main.run("eval", "--reference", ref.toString(), "--exact-kl", "--json", "--q", "0,75,100"),
                err());
        JsonNode json = new ObjectMapper().readTree(out());
        assertEquals("dtm.eval/1", json.get("schema").asText());
        assertEquals("exact", json.get("klMode").asText());
        assertEquals(8, json.get("sampleCount").asInt());
        assertEquals(8, json.get("samples").size());
        assertEquals(32, json.at("/reference/n").asInt());
        assertEquals(32, json.at("/aggregates/fdt/min").asInt());
        assertEquals(0, json.at("/aggregates/sdt/max").asInt());
        assertEquals(0.0, json.at("/aggregates/kl/max").asDouble(), 1e-6);
        assertEquals(3, json.get("fdtQ").size());
        assertEquals(32, json.at("/fdtQ/1/value").asInt());
        assertEquals(ref.toString(), json.at("/reference/file").asText());
        assertTrue(json.get("positions").isNull());
        assertTrue(!err().contains("generating"), err());
    }

    @Test
    void referenceThenEvalOfAPerturbedCandidate() throws IOException {
        Path ref = tmp.resolve("base.dtmref");
        assertEquals(0, Main.run("reference", "--out", ref.toString(), "--count", "4", "--prompt-tokens", "16",
                "-n", "12", "--top-k", "8", "--threads", "2"), err());
        assertTrue(out().contains("reference   " + ref), out());
        assertTrue(Files.isRegularFile(ref));
        console.resetOut();
        assertEquals(0, Main.run("reference", "--out", ref.toString(), "--count", "4", "--prompt-tokens", "16",
                "-n", "12", "--top-k", "8"), err());
        assertTrue(out().contains("up to date"), out());

        Path candidate = dtm.metrics.PerturbedModelsAccess.noisedCopy(files.model(), tmp);
        console.resetOut();
        assertEquals(0, Main.run("eval", "--reference", ref.toString(), "--candidate", candidate.toString(),
                "--candidate-tokenizer", files.tokenizer().toString(), "--json", "--positions"), err());
        JsonNode json = new ObjectMapper().readTree(out());
        assertEquals(4, json.get("samples").size());
        assertTrue(json.at("/aggregates/sdt/max").asInt() > 0, "the noised candidate diverges somewhere");
        JsonNode first = json.get("positions").get(0);
        int sdt = 0;
        for (JsonNode d : first.get("diverged")) {
            sdt += d.asInt();
        }
        assertEquals(json.at("/samples/0/sdt").asInt(), sdt);
        assertEquals(12, first.get("argmax").size());
    }

    @Test
    void aMismatchedReferenceIsRefusedAndKept() throws IOException {
        Path ref = tmp.resolve("small.dtmref");
        assertEquals(0, Main.run("reference", "--out", ref.toString(), "--count", "2", "--prompt-tokens", "8",
                "-n", "4"), err());
        byte[] before = Files.readAllBytes(ref);
        console.resetErr();
        assertEquals(1, Main.run("eval", "--reference", ref.toString(), "--count", "2", "--prompt-tokens", "8",
                "-n", "5"));
        assertTrue(err().startsWith("dtm: reference " + ref + " was made with other settings: N: 4 in the file, 5 asked"),
                err());
        assertEquals(1, err().strip().lines().count(), err());
        assertArrayEquals(before, Files.readAllBytes(ref));

        byte[] damaged = before.clone();             // a reference still, by its magic bytes, but damaged
        damaged[damaged.length - 1] ^= 1;
        Files.write(ref, damaged);
        console.resetErr();
        assertEquals(1, Main.run("reference", "--out", ref.toString(), "--count", "2", "--prompt-tokens", "8",
                "-n", "4"));
        assertTrue(err().contains("refusing reference file"), err());
        assertArrayEquals(damaged, Files.readAllBytes(ref));
        assertEquals(0, Main.run("reference", "--out", ref.toString(), "--count", "2", "--prompt-tokens", "8",
                "-n", "4", "--refresh"), err());
        assertTrue(dtm.metrics.Reference.load(ref).sampleCount() == 2);
    }

    @Test
    void perplexityPrintsJsonWithItsSchema() throws IOException {
        Path text = tmp.resolve("story.txt");
        Files.writeString(text, "Once upon a time there was a little cat. The cat liked to sleep in the sun. "
                .repeat(12));
        assertEquals(0, Main.run("perplexity", "--text", text.toString(), "--ctx", "64", "--json",
                "--model", files.model().toString()), err());
        JsonNode json = new ObjectMapper().readTree(out());
        assertEquals("dtm.perplexity/1", json.get("schema").asText());
        assertEquals(64, json.get("context").asInt());
        assertEquals(31, json.get("scoredTokensPerWindow").asInt());
        assertTrue(json.get("perplexity").asDouble() > 1.0);
        assertEquals(json.get("windows").asInt(), json.get("windowNll").size());

        console.resetOut();
        assertEquals(1, Main.run("perplexity", "--text", text.toString(), "--ctx", "1024"));
        assertTrue(err().startsWith("dtm: "), err());
    }

    @Test
    void helpListsTheNewCommands() {
        assertEquals(0, Main.run("--help"));
        assertTrue(out().contains("eval") && out().contains("reference") && out().contains("perplexity"), out());
        console.resetOut();
        assertEquals(0, Main.run("eval", "--help"));
        assertTrue(out().contains("--exact-kl") && out().contains("FDT_q"), out());
        assertEquals(2, Main.run("eval", "--q", "120"));
    }
}
