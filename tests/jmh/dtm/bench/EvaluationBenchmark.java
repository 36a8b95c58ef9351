package dtm.bench;

import dtm.data.DefaultModel;
import dtm.metrics.EvaluationResult;
import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.model.Model;
import dtm.reference.LibTorchLlama;
import java.io.IOException;
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
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Evaluation throughput in scored tokens per second: the teacher-forced pass of a candidate
 * (here the default model itself) over the default prompt set's samples, prompt + reference
 * continuation (64 prompt tokens + BOS, N = 100), against the same pass in LibTorch (argmax and
 * log-normaliser of the N scored positions of every sample, computed by LibTorch, only the
 * scored rows through the classifier, as the engine does). Same threads, same run.
 *
 * <p>JMH reports evaluations per second; scored tokens/s = that × {@link #SAMPLES} × 100
 * (printed at the end of the setup as a reminder).
 *
 * <p>Run: {@code mvn -DskipTests -Pjmh package -Djmh.args="EvaluationBenchmark"}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 4)
@Measurement(iterations = 4, time = 4)
@Fork(1)
public class EvaluationBenchmark {

    /** Samples evaluated per operation (the first of the default prompt set). */
    public static final int SAMPLES = 64;

    @Param({"dtm", "libtorch"})
    public String engine;

    private Model model;
    private Reference reference;
    private LibTorchLlama torch;
    private int[][] fed;
    private int[] firstScored;
    private int scored;

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        model = Model.load(files.model());
        PromptSet prompts = PromptSet.defaults(model, PromptSet.DEFAULT_PROMPT_TOKENS, SAMPLES, PromptSet.DEFAULT_SEED);
        reference = Reference.generate(model, prompts, 100);
        // The sequences the candidate reads: prompt + y_1..y_{N-1}; scored from the prompt's last token.
        fed = new int[SAMPLES][];
        firstScored = new int[SAMPLES];
        for (int s = 0; s < SAMPLES; s++) {
            int[] p = prompts.prompt(s);
            int[] y = reference.continuation(s);
            fed[s] = new int[p.length + y.length - 1];
            System.arraycopy(p, 0, fed[s], 0, p.length);
            System.arraycopy(y, 0, fed[s], p.length, y.length - 1);
            firstScored[s] = p.length - 1;
            scored += y.length;
        }
        if (engine.equals("libtorch")) {
            LibTorchLlama.setThreads(Runtime.getRuntime().availableProcessors());
            torch = LibTorchLlama.load(files.model(), LibTorchLlama.Precision.FP32);
            // Same answer as the reference's continuation, or the comparison means nothing.
            int[] argmax = torch.teacherForcedArgmax(fed, firstScored, new float[scored]);
            int i = 0;
            for (int s = 0; s < SAMPLES; s++) {
                for (int t : reference.continuation(s)) {
                    if (argmax[i++] != t) {
                        throw new IllegalStateException("LibTorch's argmax differs from the reference in sample " + s);
                    }
                }
            }
        }
        System.out.printf("%n%s: one operation = %d samples = %d scored tokens%n", engine, SAMPLES, scored);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (torch != null) {
            torch.close();
        }
        model.close();
    }

    @Benchmark
    public Object evaluate() {
        if (torch != null) {
            return torch.teacherForcedArgmax(fed, firstScored, new float[scored]);
        }
        EvaluationResult r = reference.evaluate(model);
        if (r.aggregates().sdt().max() != 0) {
            throw new IllegalStateException("the base diverges from itself");
        }
        return r;
    }
}
