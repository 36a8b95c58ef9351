package dtm.bench;

import dtm.data.DefaultModel;
import dtm.metrics.PromptSet;
import dtm.metrics.RunOptions;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.ModelOptions;
import dtm.model.Session;
import dtm.model.SessionOptions;
import dtm.recovery.RecoveryOptions;
import dtm.recovery.RecoveryTrainer;
import dtm.recovery.TrainingSet;
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

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Recovery training's throughput (docs/recovery.md) against a yardstick measured in the same
 * run: the engine's teacher-forced scoring of the same sequences. Scores are token positions per
 * second on the default model with every decoder matrix pruned to 50 %:
 *
 * <ul>
 *   <li>{@code train}: one recovery training call of {@value #BATCHES} optimizer steps of 8
 *       sequences of 165 tokens (64-token prompt + BOS + 100 tokens the base writes), every
 *       decoder matrix trained: the base's distributions, the candidate's forward and backward
 *       pass, AdamW and the masks, plus the call's own set-up (weights into LibTorch and back);
 *   <li>{@code score}: the engine scoring the same 8 sequences teacher-forced (every position's
 *       logits, argmax and log-probability), the forward pass alone.
 * </ul>
 *
 * <p>Run with LibTorch's OpenMP threads passive, as ./dtm runs training:
 * {@code OMP_WAIT_POLICY=PASSIVE mvn -DskipTests -Pjmh package -Djmh.args="RecoveryTrainingBenchmark"}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 10)
@Measurement(iterations = 3, time = 10)
@Fork(1)
public class RecoveryTrainingBenchmark {
    private static final int BATCH = 8;
    private static final int BATCHES = 4;
    private static final int LENGTH = 165;

    /** Threads of LibTorch (train) and of the engine (score). */
    @Param({"1", "2"})
    public int threads;

    private Model base;
    private Model pruned;
    private Session session;
    private TrainingSet data;
    private List<Integer> trainable;
    private RecoveryTrainer trainer;
    private List<int[]> batch;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        base = Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()));
        RunOptions run = RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(threads));
        PromptSet evaluation = PromptSet.defaults(base, 64, 32, 1);
        data = TrainingSet.of(base, PromptSet.defaults(base, 64, 32 + BATCH, 2), evaluation, BATCH, 100, run);
        if (data.sequenceLength() != LENGTH) {
            throw new IllegalStateException("sequences of " + data.sequenceLength() + " tokens, not " + LENGTH);
        }
        Map<Integer, Compression> prune = new LinkedHashMap<>();
        trainable = new ArrayList<>();
        for (int c : base.findComponents("model.layers.*")) {
            prune.put(c, Compression.magnitude(0.5));
            trainable.add(c);
        }
        pruned = base.compress(prune, null, threads);
        trainer = RecoveryTrainer.find();
        session = base.newSession(SessionOptions.defaults().withThreads(threads));
        batch = new ArrayList<>(data.sequences());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        session.close();
        pruned.close();
        base.close();
    }

    @Benchmark
    @OperationsPerInvocation(BATCHES * BATCH * LENGTH)
    public Object train() {
        RecoveryOptions options = new RecoveryOptions((long) BATCHES * BATCH * LENGTH, BATCH,
                RecoveryOptions.DEFAULT_LEARNING_RATE, 0.25, RecoveryOptions.DEFAULT_WEIGHT_DECAY, 1, threads);
        try (RecoveryTrainer.Trained t = trainer.train(base, pruned, trainable, data, options, (a, b, c) -> { },
                "bench")) {
            return t.run();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH * LENGTH)
    public Object score() {
        return session.score(batch);
    }
}
