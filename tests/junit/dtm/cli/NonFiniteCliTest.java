package dtm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dtm.data.DefaultModel;
import dtm.metrics.PerturbedModelsAccess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** dtm eval of a candidate with a NaN weight: refused by default, nan (never a number) with --skip-finite-check. */
class NonFiniteCliTest {
    @TempDir
    static Path tmp;

    private static DefaultModel.ModelFiles files;
    private static Path nanModel;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @BeforeAll
    static void setUp() throws IOException {
        files = DefaultModel.fetch();
        nanModel = PerturbedModelsAccess.nanCopy(files.model(), tmp);
    }

    private static List<String> eval(String... more) {
        List<String> args = new ArrayList<>(List.of("eval", "--candidate", nanModel.toString(),
                "--candidate-tokenizer", files.tokenizer().toString(), "--count", "4", "--prompt-tokens", "16",
                "-n", "8", "--threads", "2", "--reference", tmp.resolve("ref.dtmref").toString()));
        args.addAll(List.of(more));
        return args;
    }

    @Test
    void aNaNCandidateIsRefusedAtLoadByDefault() {
        int code = Main.run(eval().toArray(new String[0]));
        assertNotEquals(0, code);
        String err = console.err();
        assertTrue(err.contains("dtm: cannot load model " + nanModel), err);
        assertTrue(err.toLowerCase(java.util.Locale.ROOT).contains("nan")
                || err.toLowerCase(java.util.Locale.ROOT).contains("finite"), err);
    }

    @Test
    void withTheCheckSkippedItsNllIsNanInTableJsonAndCsv() throws IOException {
        Path csv = tmp.resolve("nan.csv");
        assertEquals(0, Main.run(eval("--skip-finite-check", "--csv", csv.toString()).toArray(new String[0])),
                console.err());
        String table = console.out();
        assertTrue(table.matches("(?s).*\\nNLL of y +nan +nan +nan .*"), table);
        assertTrue(table.matches("(?s).*\\nperplexity of y +nan .*"), table);
        assertTrue(table.contains("perplexity  nan of y"), table);
        List<String> rows = Files.readAllLines(csv);
        assertEquals(5, rows.size());
        // index,prompt_tokens,n,fdt,sdt,sdt_share,top1_agreement,nll,perplexity,delta_p,kl
        String[] row = rows.get(1).split(",", -1);
        assertEquals("NaN", row[7], rows.get(1));
        assertEquals("NaN", row[8], rows.get(1));

        console.reset();
        assertEquals(0, Main.run(eval("--skip-finite-check", "--json").toArray(new String[0])), console.err());
        JsonNode json = new ObjectMapper().readTree(console.out());
        assertEquals(4, json.at("/aggregates/nll/count").asInt());
        assertTrue(json.at("/aggregates/nll/mean").isNull(), json.at("/aggregates/nll").toString());
        assertTrue(json.at("/samples/0/nll").isNull());
    }

    /** Needs the engine's KL to propagate NaN (position_stats.cpp; issue 12, item 12). */
    @Test
    void withTheCheckSkippedItsKlIsNanNotZero() throws IOException {
        for (String[] mode : new String[][] {{}, {"--exact-kl"}}) {
            console.reset();
            List<String> args = eval("--skip-finite-check");
            args.addAll(List.of(mode));
            assertEquals(0, Main.run(args.toArray(new String[0])), console.err());
            String table = console.out();
            assertTrue(table.matches("(?s).*\\nKL \\(\\w+\\) +nan +nan .*"), table);
        }
    }
}
