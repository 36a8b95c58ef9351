package dtm.scan;

import dtm.data.DefaultModel;
import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.metrics.ReferenceOptions;
import dtm.metrics.RunOptions;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.ModelOptions;
import dtm.model.SessionOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scan runner on the default model: cached layer inputs give the same cells as full passes
 * (bitwise: every aggregate equal), and a scan killed after some cells resumes from its checkpoint
 * to the result of an uninterrupted scan.
 */
class ScanRunTest {
    private static final List<String> COMPONENTS = List.of("model.layers.[1-2].mlp.down_proj",
            "model.layers.4.self_attn.v_proj", "lm_head");
    private static final List<Compression> SETTINGS = List.of(Compression.magnitude(0.6), Compression.int8());

    @TempDir
    static Path tmp;

    private static Model base;
    private static Reference reference;

    @BeforeAll
    static void setUp() throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        base = Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()));
        reference = Reference.generate(base, PromptSet.defaults(base, 24, 6, 5),
                ReferenceOptions.defaults().withN(32), run(RunOptions.defaults()));
    }

    @AfterAll
    static void tearDown() {
        if (base != null) {
            base.close();
        }
    }

    private static RunOptions run(RunOptions r) {
        // Chunks of 4 samples: the cached rows are read across chunk boundaries.
        return r.withSession(SessionOptions.defaults().withThreads(2)).withChunkSamples(4);
    }

    private static Scan.Options options() {
        return Scan.Options.defaults().withComponents(COMPONENTS).withSettings(SETTINGS)
                .withRun(run(RunOptions.defaults()));
    }

    /** The cells without their timings. */
    private static List<ScanCell> untimed(ScanResult r) {
        return r.cells().stream().map(c -> new ScanCell(c.component(), c.kind(), c.layer(), c.parameters(),
                c.setting(), c.aggregates(), c.fdt75(), 0)).toList();
    }

    @Test
    void cachedLayerInputsGiveTheCellsOfFullPasses() {
        ScanResult cached = Scan.run(base, reference, options().withCacheLayerInputs(true));
        ScanResult full = Scan.run(base, reference, options().withCacheLayerInputs(false));
        assertEquals(4 * 2, cached.cells().size());
        assertEquals(untimed(full), untimed(cached));
        assertTrue(cached.cells().stream().anyMatch(c -> c.aggregates().fdt().mean() < 32),
                "some cell should diverge, or the comparison proves little");
    }

    @Test
    void aKilledScanResumesToTheUninterruptedResult() throws IOException {
        Path checkpoint = tmp.resolve("scan.jsonl");
        ScanResult uninterrupted = Scan.run(base, reference, options());
        AtomicInteger seen = new AtomicInteger();
        RuntimeException kill = new RuntimeException("killed");
        RunOptions killing = run(RunOptions.defaults()).withProgress((task, done, total) -> {
            if (task.equals("scan") && done == 3 && seen.incrementAndGet() == 1) {
                throw kill;
            }
        });
        RuntimeException thrown = assertThrows(RuntimeException.class,
                () -> Scan.run(base, reference, options().withCheckpoint(checkpoint).withRun(killing)));
        assertEquals(kill, thrown);
        // A kill in the middle of writing leaves a cut line: it must be dropped on resume.
        Files.writeString(checkpoint, "{\"component\": \"model.lay", StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.APPEND);
        AtomicInteger firstReport = new AtomicInteger(-1);
        RunOptions counting = run(RunOptions.defaults()).withProgress((task, done, total) -> {
            if (task.equals("scan")) {
                firstReport.compareAndSet(-1, (int) done);
            }
        });
        ScanResult resumed = Scan.run(base, reference, options().withCheckpoint(checkpoint).withRun(counting));
        assertEquals(3, firstReport.get(), "the resumed scan starts with the 3 cells of the checkpoint");
        assertEquals(untimed(uninterrupted), untimed(resumed));
        assertEquals(9, Files.readAllLines(checkpoint).size(), "a header and 8 cells");

        // The checkpoint of another scan is refused, not overwritten.
        byte[] before = Files.readAllBytes(checkpoint);
        assertThrows(IllegalArgumentException.class, () -> Scan.run(base, reference,
                options().withSettings(List.of(Compression.q8_0())).withCheckpoint(checkpoint)));
        assertEquals(new String(before, StandardCharsets.UTF_8),
                new String(Files.readAllBytes(checkpoint), StandardCharsets.UTF_8));
    }
}
