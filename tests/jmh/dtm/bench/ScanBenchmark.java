package dtm.bench;

import dtm.data.DefaultModel;
import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.ModelConfig;
import dtm.scan.Scan;
import dtm.scan.ScanResult;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A component scan with and without cached layer inputs (DESIGN.md §3 and §7: cached ≤ 0.6× the
 * time of re-running every layer), same run, same threads: every decoder matrix of the default
 * model × {@link #SETTINGS}, on the first {@link #SAMPLES} prompts of the default prompt set,
 * N = 100. The two give bitwise the same cells (ScanRunTest); only the time differs.
 *
 * <p>JMH reports seconds per scan; the ratio cached / uncached is the figure, against the ratio
 * the cost model predicts (DESIGN.md §7: per cell, the layers actually run plus the head), which
 * the set-up prints: 2 FLOP per weight of a decoder layer for every position fed through it
 * (prompt and continuation but its last token), and of the head for every scored position
 * (the continuation). Cells of layer l run layers l..L-1; without cached inputs every cell runs
 * all L. Measured / predicted within 1.1 is DESIGN's target.
 *
 * <p>Run: {@code mvn -DskipTests -Pjmh package -Djmh.args="ScanBenchmark"}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(1)
public class ScanBenchmark {
    /** Prompts of the scan. */
    public static final int SAMPLES = 32;
    /** Settings per component: one pruning, one quantization. */
    public static final List<Compression> SETTINGS = List.of(Compression.magnitude(0.5), Compression.int8());

    @Param({"cached", "every-layer"})
    public String layerInputs;

    private Model model;
    private Reference reference;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        model = Model.load(files.model());
        PromptSet prompts = PromptSet.defaults(model, PromptSet.DEFAULT_PROMPT_TOKENS, SAMPLES, PromptSet.DEFAULT_SEED);
        reference = Reference.generate(model, prompts, 100);
        System.out.printf("%nScanBenchmark: the cost model predicts cached / every-layer = %.3f%n",
                predictedCachedRatio(model.config(), prompts, reference));
    }

    /** cached / every-layer time as the cost model of the class comment predicts it. */
    static double predictedCachedRatio(ModelConfig c, PromptSet prompts, Reference reference) {
        double layerFlop = 2.0 * c.dim() * ((double) 2 * c.heads() * c.headDim() + 2.0 * c.kvHeads() * c.headDim()
                + 3.0 * c.hiddenDim());
        double headFlop = 2.0 * c.dim() * c.vocabSize();
        double fed = 0, scored = 0;
        for (int i = 0; i < prompts.size(); i++) {
            fed += prompts.prompt(i).length + reference.continuationLength(i) - 1;
            scored += reference.continuationLength(i);
        }
        double cached = 0, everyLayer = 0;
        for (int layer = 0; layer < c.layers(); layer++) {  // every layer has as many cells
            cached += fed * layerFlop * (c.layers() - layer) + scored * headFlop;
            everyLayer += fed * layerFlop * c.layers() + scored * headFlop;
        }
        return cached / everyLayer;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }

    @Benchmark
    public ScanResult scan() {
        return Scan.run(model, reference, Scan.Options.defaults().withSettings(SETTINGS)
                .withCacheLayerInputs(layerInputs.equals("cached")).withRun(RunOptions.defaults()));
    }
}
