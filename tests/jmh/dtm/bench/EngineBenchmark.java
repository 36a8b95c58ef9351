package dtm.bench;

import dtm.data.DefaultModel;
import dtm.model.Model;
import dtm.model.ScoreResult;
import dtm.model.Session;
import dtm.model.SessionOptions;
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

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The engine through the Java API on the default model: one-token decoding and teacher-forced
 * scoring. Throughput in operations per second; tokens per second = ops/s × tokens per op
 * (1 for decode, {@code sequences × length} for score).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class EngineBenchmark {

    /** Worker threads of the session (0 = all CPUs). */
    @Param({"0"})
    public int threads;

    /** Sequences scored per call. */
    @Param({"8"})
    public int sequences;

    /** Tokens per scored sequence. */
    @Param({"128"})
    public int length;

    private Model model;
    private Session session;
    private List<int[]> batch;
    private int[] stream;
    private int position;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        model = DefaultModel.load();
        session = model.newSession(SessionOptions.defaults().withThreads(threads));
        String text = "Once upon a time, there was a little girl named Lily. She loved to play outside. ";
        int[] tokens = model.tokenizer().encode(text.repeat(40), true);
        batch = new ArrayList<>();
        for (int s = 0; s < sequences; s++) {
            int[] seq = new int[length];
            System.arraycopy(tokens, s, seq, 0, length);
            seq[0] = model.tokenizer().bos();
            batch.add(seq);
        }
        stream = tokens;
        // Score once and check that the answer is sane, so a broken engine does not get timed.
        ScoreResult check = session.score(batch);
        if (check.tokenCount() != sequences * length) {
            throw new IllegalStateException("scored " + check.tokenCount() + " positions");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        session.close();
        model.close();
    }

    @Benchmark
    public float decodeOneToken() {
        if (position == model.config().maxSeqLen()) {
            session.reset();
            position = 0;
        }
        float[] logits = session.decode(stream[position++]);
        return logits[0];
    }

    @Benchmark
    public ScoreResult scoreBatch() {
        return session.score(batch);
    }
}
