package dtm.bench;

import dtm.data.DefaultModel;
import dtm.model.Model;
import dtm.model.Session;
import dtm.model.SessionOptions;
import dtm.reference.LibTorchLlama;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The engine against its yardstick, the LibTorch reference (tests/reference), on the default
 * model, same threads, same work, in one run. Scores are tokens per second:
 *
 * <ul>
 *   <li>{@code prefill}: teacher-forced scoring of 8 sequences x 256 tokens, per position the
 *       argmax and the log-normaliser (the engine also returns log p of the next token);
 *   <li>{@code decode}: greedy generation of 64 tokens after a 5-token prompt, one sequence.
 * </ul>
 *
 * <p>Run: {@code mvn -DskipTests -Pjmh package -Djmh.args="VsLibTorchBenchmark"}. The ratio of
 * the two {@code engine} rows of each benchmark is the figure to report.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class VsLibTorchBenchmark {

    private static final int SEQUENCES = 8;
    private static final int LENGTH = 256;
    private static final int NEW_TOKENS = 64;

    /** Which implementation runs. */
    @Param({"dtm", "libtorch"})
    public String engine;

    /** Threads for both (0 = all CPUs). */
    @Param({"0"})
    public int threads;

    private Model model;
    private Session session;
    private LibTorchLlama reference;
    private int[][] batch;
    private int[] prompt;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        model = Model.load(files.model());
        int[] text = model.tokenizer().encode(
                "Once upon a time, there was a little girl named Lily. She loved to play outside. "
                        .repeat(60), true);
        batch = new int[SEQUENCES][];
        for (int s = 0; s < SEQUENCES; s++) {
            batch[s] = Arrays.copyOfRange(text, 7 * s, 7 * s + LENGTH);
            batch[s][0] = model.tokenizer().bos();
        }
        prompt = model.tokenizer().encode("Once upon a time", true);
        if (engine.equals("dtm")) {
            session = model.newSession(SessionOptions.defaults().withThreads(n));
        } else {
            LibTorchLlama.setThreads(n);
            reference = LibTorchLlama.load(files.model(), LibTorchLlama.Precision.FP32);
        }
        // Both must give the same greedy text, so that neither is timed doing something else.
        try (Session check = model.newSession(SessionOptions.defaults().withThreads(n))) {
            int[] expected = check.generate(prompt, NEW_TOKENS);
            int[] got = engine.equals("dtm") ? session.generate(prompt, NEW_TOKENS)
                    : reference.greedy(prompt, NEW_TOKENS);
            if (!Arrays.equals(expected, got)) {
                throw new IllegalStateException(engine + " generates other tokens than dtm");
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (session != null) {
            session.close();
        }
        if (reference != null) {
            reference.close();
        }
        model.close();
    }

    @Benchmark
    @OperationsPerInvocation(SEQUENCES * LENGTH)
    public Object prefill() {
        if (session != null) {
            return session.score(toList(batch));
        }
        return reference.teacherForcedArgmax(batch, new float[SEQUENCES * LENGTH]);
    }

    @Benchmark
    @OperationsPerInvocation(NEW_TOKENS)
    public int[] decode() {
        return session != null ? session.generate(prompt, NEW_TOKENS) : reference.greedy(prompt, NEW_TOKENS);
    }

    private static List<int[]> toList(int[][] sequences) {
        return new ArrayList<>(Arrays.asList(sequences));
    }
}
