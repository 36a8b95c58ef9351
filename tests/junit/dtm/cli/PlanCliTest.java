package dtm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dtm.compress.Plan;
import dtm.data.DefaultModel;
import dtm.model.Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * dtm scan and dtm plan on the default model, on a few components and prompts: the files they
 * write, resuming from the checkpoint, and a written plan that dtm eval reproduces.
 */
class PlanCliTest {
    private static final String[] SMALL = {"--components", "model.layers.5.mlp.down_proj,model.layers.5.self_attn.v_proj",
            "--settings", "magnitude:0.1,magnitude:0.3,int8", "--count", "6", "--prompt-tokens", "16", "-n", "16",
            "--threads", "2", "--no-progress"};

    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    private int run(String command, String... more) {
        console.reset();
        String[] args = new String[1 + SMALL.length + more.length];
        args[0] = command;
        System.arraycopy(SMALL, 0, args, 1, SMALL.length);
        System.arraycopy(more, 0, args, 1 + SMALL.length, more.length);
        return Main.run(args);
    }

    @Test
    void scanWritesTheReportAndPlanResumesTheSameScan() throws IOException {
        Path dir = tmp.resolve("report");
        assertEquals(0, run("scan", "--out", dir.toString()), console.err());
        String table = console.out();
        assertTrue(table.contains("scan        6 cells (2 components x 3 settings)"), table);
        for (String f : List.of("report.html", "scan.json", "scan-cells.csv", "scan-plans.csv",
                ScanOptions.CHECKPOINT_FILE)) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        List<String> checkpoint = Files.readAllLines(dir.resolve(ScanOptions.CHECKPOINT_FILE));
        assertEquals(1 + 6, checkpoint.size(), "a header and one line per cell");

        assertEquals(0, run("plan", "--out", dir.toString(), "--sparsity", "0.2", "--fdt-threshold", "8",
                "--ppl-windows", "2"), console.err());
        assertEquals(checkpoint, Files.readAllLines(dir.resolve(ScanOptions.CHECKPOINT_FILE)),
                "the plan resumed the finished scan: no cell was computed again");
        String plans = console.out();
        for (String name : List.of("FDT-guided", "uniform magnitude", "perplexity-guided", "FDT-guided int8",
                "perplexity-ranked int8", "random-order int8")) {
            assertTrue(plans.contains("\n" + name + " "), name + " in\n" + plans);
        }
        JsonNode scan = new ObjectMapper().readTree(dir.resolve("scan.json").toFile());
        assertEquals(6, scan.get("plans").size(), scan.toPrettyString());
        JsonNode fdtGuided = scan.get("plans").get(0);
        assertTrue(Double.isFinite(fdtGuided.get("textPerplexity").asDouble()), fdtGuided.toString());
        // The paper's headline figures in the summary line, the JSON and the CSV. The study holds
        // two of the 42 decoder matrices (288x768 and 288x288 of 6 x 995,328 parameters), so the
        // int8 plan's share of every decoder parameter is its share of the two, scaled.
        assertTrue(plans.contains(">90%") && plans.contains("attn>90") && plans.contains("dec i8"), plans);
        for (JsonNode p : scan.get("plans")) {
            for (String figure : List.of("prunedBeyond90Share", "attentionPrunedBeyond90Share", "decoderInt8Share")) {
                double v = p.get(figure).asDouble(-1);
                assertTrue(v >= 0 && v <= 1, figure + " of " + p.get("name") + ": " + p.get(figure));
            }
        }
        JsonNode int8 = scan.get("plans").get(3);
        assertEquals(int8.get("quantizedShare").asDouble() * (288 * 768 + 288 * 288) / (6.0 * 995328),
                int8.get("decoderInt8Share").asDouble(), 1e-12, "the int8 share over every decoder parameter");
        assertTrue(Files.readAllLines(dir.resolve("scan-plans.csv")).get(0).endsWith(
                ",pruned_beyond_90_share,attention_pruned_beyond_90_share,decoder_int8_share"));
        Path planFile = dir.resolve("plan-fdt-guided-pruning.json");
        Plan plan = Plan.read(planFile);
        assertFalse(plan.entries().isEmpty());
        assertTrue(plan.entries().get(0).evidence().has("steps"), "the plan carries its evidence");
        try (Model base = DefaultModel.load()) {
            assertEquals(base.fingerprint(), plan.base(), "the plan names the base it was made for");
        }

        // dtm eval reproduces the FDT_75 the report gives for the plan.
        console.reset();
        assertEquals(0, Main.run("eval", "--plan", planFile.toString(), "--count", "6", "--prompt-tokens", "16",
                "-n", "16", "--threads", "2", "--q", "75", "--json"), console.err());
        JsonNode eval = new ObjectMapper().readTree(console.out());
        assertEquals(fdtGuided.get("fdt75").asInt(), eval.at("/fdtQ/0/value").asInt(), eval.toString());
    }

    @Test
    void withRecoveryEveryPlanIsTrainedAndItsPlanFileUnderARelativeOutReproducesIt() throws IOException {
        // --out as a user types it: relative to the working directory.
        Path out = Path.of("").toAbsolutePath().relativize(tmp.resolve("trained"));
        assertEquals(0, run("plan", "--out", out.toString(), "--sparsity", "0.4", "--steps", "2", "--no-int8",
                "--recover-tokens", "300", "--recover-prompts", "4", "--ppl-windows", "1"), console.err());
        // The same budget for every plan: two trained steps each.
        for (String name : List.of("fdt-guided", "uniform", "perplexity-guided")) {
            Plan p = Plan.read(out.resolve("plan-" + name + "-pruning.json"));
            assertEquals(2, p.recovered().training().path("steps").size(), name);
            assertTrue(Files.isRegularFile(p.recovered().weights()), name);
        }
        JsonNode scan = new ObjectMapper().readTree(out.resolve("scan.json").toFile());
        JsonNode fdtGuided = scan.get("plans").get(0);
        Path planFile = out.resolve("plan-fdt-guided-pruning.json");
        Plan plan = Plan.read(planFile);
        assertEquals(tmp.resolve("trained/recovery/fdt-guided-step2.safetensors"), plan.recovered().weights());
        assertTrue(Files.isRegularFile(plan.recovered().weights()));
        assertFalse(Files.exists(tmp.resolve("trained/recovery/fdt-guided-step1.safetensors")),
                "step 1's weights are replaced by step 2's");
        assertEquals(2, plan.recovered().training().path("steps").size());
        assertTrue(Files.readString(out.resolve("report.html")).contains("id=\"recovery\""));
        // dtm eval --plan loads the trained weights and reproduces the report's FDT.
        console.reset();
        assertEquals(0, Main.run("eval", "--plan", planFile.toString(), "--count", "6", "--prompt-tokens", "16",
                "-n", "16", "--threads", "2", "--q", "75", "--json"), console.err());
        JsonNode eval = new ObjectMapper().readTree(console.out());
        assertEquals(fdtGuided.get("fdt75").asInt(), eval.at("/fdtQ/0/value").asInt(), eval.toString());
        assertEquals(fdtGuided.get("fdtMean").asDouble(), eval.at("/aggregates/fdt/mean").asDouble(), 1e-9,
                eval.toString());
    }

    @Test
    void badPlanOptionsAreClearErrors() {
        assertEquals(Main.EXIT_ERROR, run("plan", "--out", tmp.resolve("x").toString(), "--sparsity", "1.5"));
        assertTrue(console.err().contains("--sparsity must be in (0, 1]"), console.err());
        assertEquals(Main.EXIT_ERROR, run("scan", "--out", tmp.resolve("y").toString(), "--settings", "magnitude:2"));
        assertTrue(console.err().contains("sparsity"), console.err());
    }
}
