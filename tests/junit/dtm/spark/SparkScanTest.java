package dtm.spark;

import dtm.data.DefaultModel;
import dtm.metrics.Progress;
import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.metrics.ReferenceOptions;
import dtm.metrics.RunOptions;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.ModelOptions;
import dtm.model.SessionOptions;
import dtm.scan.CellFailedException;
import dtm.scan.CellRunner;
import dtm.scan.Int8Search;
import dtm.scan.PlanStudy;
import dtm.scan.PruningSearch;
import dtm.scan.ClusterRunners;
import dtm.scan.Scan;
import dtm.scan.ScanCell;
import dtm.scan.ScanResult;
import org.apache.spark.SparkContext;
import org.apache.spark.Success$;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A scan of the default model as Spark tasks under local[2] (issue 16): the same cells as the
 * scan in this process, bitwise (every aggregate equal); the same with the first attempt of one
 * layer's task failing (Spark retries it); a distributed scan resumes from a local checkpoint;
 * a cell the engine refuses fails the scan with that cell named.
 */
class SparkScanTest {
    /** Components in four layers (four tasks) and the head. */
    private static final List<String> COMPONENTS = List.of("model.layers.1.mlp.down_proj",
            "model.layers.[3-4].self_attn.v_proj", "lm_head");
    private static final List<Compression> SETTINGS = List.of(Compression.magnitude(0.6), Compression.int8());

    @TempDir
    static Path tmp;

    private static Model base;
    private static Reference reference;
    private static ScanResult inProcess;

    @BeforeAll
    static void setUp() throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        base = Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()));
        reference = Reference.generate(base, PromptSet.defaults(base, 12, 6, 5),
                ReferenceOptions.defaults().withN(24), run());
        inProcess = Scan.run(base, reference, options());
    }

    @AfterAll
    static void tearDown() {
        if (base != null) {
            base.close();
        }
    }

    /** One engine thread per session in both runs: Spark's tasks get one each (spark.task.cpus 1). */
    private static RunOptions run() {
        return RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(1)).withChunkSamples(4);
    }

    private static Scan.Options options() {
        return Scan.Options.defaults().withComponents(COMPONENTS).withSettings(SETTINGS).withRun(run());
    }

    private static CellRunner spark(Map<String, String> conf) {
        return ClusterRunners.open("spark", new ClusterRunners.Options("local[2]", 0, conf));
    }

    /** The cells without their timings. */
    private static List<ScanCell> untimed(ScanResult r) {
        return r.cells().stream().map(c -> new ScanCell(c.component(), c.kind(), c.layer(), c.parameters(),
                c.setting(), c.aggregates(), c.fdt75(), 0)).toList();
    }

    @Test
    void localTwoGivesTheCellsOfTheScanInThisProcess() {
        ScanResult distributed;
        try (CellRunner runner = spark(Map.of())) {
            distributed = Scan.run(base, reference, options().withRunner(runner));
        }
        assertEquals(4 * 2, inProcess.cells().size());
        assertEquals(untimed(inProcess), untimed(distributed));
        assertTrue(inProcess.cells().stream().anyMatch(c -> c.aggregates().fdt().mean() < 24),
                "some cell should diverge, or the comparison proves little");
    }

    @Test
    void aFailedTaskIsRetriedAndGivesTheSameCells() {
        ScanResult distributed;
        AtomicInteger failedTasks = new AtomicInteger();
        AtomicInteger succeededTasks = new AtomicInteger();
        try (CellRunner runner = spark(Map.of(SparkCellRunner.FAIL_LAYER_ONCE, "3"))) {
            SparkContext.getOrCreate().addSparkListener(new SparkListener() {
                @Override
                public void onTaskEnd(SparkListenerTaskEnd end) {
                    (end.reason() == Success$.MODULE$ ? succeededTasks : failedTasks).incrementAndGet();
                }
            });
            distributed = Scan.run(base, reference, options().withRunner(runner));
        }
        assertEquals(untimed(inProcess), untimed(distributed));
        // Listener events arrive asynchronously, but the context's stop drains them.
        assertEquals(1, failedTasks.get(), "the first attempt of layer 3's task fails once");
        assertEquals(4, succeededTasks.get(), "one successful task per layer (1, 3, 4, head)");
    }

    @Test
    void aDistributedScanResumesFromALocalCheckpointAndViceVersa() {
        // Killed in this process after 3 cells, resumed on Spark.
        Path local = tmp.resolve("killed-locally.jsonl");
        assertThrows(IllegalStateException.class, () -> Scan.run(base, reference,
                options().withCheckpoint(local).withRun(run().withProgress(killAfter(3)))));
        ScanResult resumedOnSpark;
        try (CellRunner runner = spark(Map.of())) {
            resumedOnSpark = Scan.run(base, reference, options().withCheckpoint(local).withRunner(runner));
        }
        assertEquals(untimed(inProcess), untimed(resumedOnSpark));

        // Killed on Spark after 2 cells, resumed in this process.
        Path distributed = tmp.resolve("killed-on-spark.jsonl");
        try (CellRunner runner = spark(Map.of())) {
            assertThrows(IllegalStateException.class, () -> Scan.run(base, reference, options()
                    .withCheckpoint(distributed).withRun(run().withProgress(killAfter(2))).withRunner(runner)));
        }
        ScanResult resumedHere = Scan.run(base, reference, options().withCheckpoint(distributed));
        assertEquals(untimed(inProcess), untimed(resumedHere));
    }

    /** A progress listener that throws when the scan reports {@code cells} cells done (a killed run). */
    private static Progress killAfter(int cells) {
        return (task, done, total) -> {
            if (task.equals("scan") && done == cells) {
                throw new IllegalStateException("killed after " + cells + " cells");
            }
        };
    }

    @Test
    void thePlanSearchesOnSparkFindThePlansOfThisProcess() {
        // Two pruning steps (the second measures on top of the first's plan), a linear int8 search
        // (its prefixes checked two at a time on local[2]): every measurement is a Spark task.
        Scan.Options scan = Scan.Options.defaults().withComponents(List.of("model.layers.[1-2].mlp.down_proj",
                        "model.layers.4.self_attn.v_proj"))
                .withSettings(List.of(Compression.magnitude(0.3), Compression.int8())).withRun(run());
        PlanStudy.Options study = new PlanStudy.Options(scan, PruningSearch.Schedule.equalSteps(0.3, 2),
                new Int8Search.Options(20, null, Int8Search.PrefixSearch.LINEAR), 7, null, 0);
        PlanStudy.Result here = PlanStudy.run(base, reference, null, study);
        PlanStudy.Result distributed;
        try (CellRunner runner = spark(Map.of())) {
            distributed = PlanStudy.run(base, reference, null, new PlanStudy.Options(scan.withRunner(runner),
                    study.pruning(), study.int8(), study.seed(), null, 0));
        }
        assertEquals(here.pruning().fdtGuided(), distributed.pruning().fdtGuided());
        assertEquals(here.pruning().perplexityGuided(), distributed.pruning().perplexityGuided());
        assertEquals(here.int8().selection(), distributed.int8().selection());
        assertEquals(here.outcomes(), distributed.outcomes());
        // A round of two prefixes may check one past the first failure: at most one more each round.
        assertTrue(distributed.evaluations() >= here.evaluations(), distributed.evaluations() + " evaluations");
        assertEquals(3, here.pruning().fdtGuided().steps().get(1).atHalf().size(), "step 2 measured every component");
    }

    @Test
    void aCellTheEngineRefusesFailsTheScanWithTheCellNamed() {
        try (CellRunner runner = spark(Map.of())) {
            CellFailedException e = assertThrows(CellFailedException.class, () -> Scan.run(base, reference,
                    options().withComponents(List.of("model.layers.2.mlp.up_proj"))
                            .withSettings(List.of(Compression.wanda(0.5))).withRunner(runner)));
            assertTrue(e.getMessage().contains("model.layers.2.mlp.up_proj"), e.getMessage());
            assertTrue(e.getMessage().contains("wanda"), e.getMessage());
        }
    }
}
