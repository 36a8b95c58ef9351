package dtm.bench;

import dtm.data.DefaultModel;
import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Compression;
import dtm.model.Model;
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
 * <p>JMH reports seconds per scan; the ratio cached / uncached is the figure.
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
