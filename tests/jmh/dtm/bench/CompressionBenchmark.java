package dtm.bench;

import dtm.compress.Plan;
import dtm.data.DefaultModel;
import dtm.model.Component;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.ScoreResult;
import dtm.model.Session;
import dtm.model.SessionOptions;
import dtm.model.WeightFormat;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
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
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * Whole-model speed and weight memory of compressed candidates against the fp32 base, on the
 * default model (stories15M), in one JMH run. The {@code candidate} parameter is a compression
 * in its text form ({@link Compression#parse}) applied to every decoder matrix
 * ({@code model.layers.*}: q, k, v, o, gate, up, down of every layer), or {@code fp32}: a
 * candidate that compresses nothing (the base's weights, shared), the control. The embedding and
 * the (tied) output head stay fp32 in every candidate.
 *
 * <ul>
 *   <li>{@code decode}: one-token decoding with a session, token after token of a fixed text,
 *       starting over when the context (256) is full; score = the candidate's tokens/s.
 *   <li>{@code score}: teacher-forced batched scoring ({@code Session.score}: per position the
 *       argmax, log p of the next token and the log-normaliser, i.e. the whole classifier) of
 *       {@value #SEQUENCES} sequences × {@value #LENGTH} tokens; score = the candidate's tokens/s.
 *   <li>{@code decodeVsFp32}, {@code scoreVsFp32}: the same work, paired: every invocation runs
 *       one operation on the candidate and the same one on the fp32 base (which goes first
 *       alternates), each timed on its own. The JMH score (pairs/s) means little; what counts is
 *       the speed ratio candidate ÷ fp32, the median over the pairs of the measurement
 *       iterations, which the trial teardown prints ({@code [compression] decode|score ... x
 *       fp32}) with each iteration's median and the ratio of the total times. Both sides of a
 *       pair see the same machine load, so on a shared machine this ratio is far steadier than
 *       the quotient of two rows measured minutes apart. (Paired, the two models evict each
 *       other's weights from the caches; the unpaired rows have the caches to themselves.)
 * </ul>
 *
 * <p>Memory: the setup prints, per candidate, the bytes of the decoder matrices in their storage
 * formats ({@link Component#storageBytes()}) and of all weights (a tied head that is the
 * embedding counted once, as it is in memory), each also as a ratio to fp32, and the share of
 * scored positions whose argmax agrees with the fp32 base's (a sanity check that the candidate
 * computes something near the base; the metrics proper are {@code dtm eval}'s). These lines
 * start with {@code [compression]} so that {@code grep} finds them in the JMH log.
 *
 * <p>Run: {@code mvn -B -DskipTests -Pjmh package -Djmh.args="CompressionBenchmark -wi 1 -i 3 -f 1"}.
 * The figures to read are the paired ratios; the unpaired rows divided by their {@code fp32} row
 * say the same on a quiet machine. The fp32 control's paired ratio is 1 up to noise. Threads
 * default to 1: on a shared machine one thread is far steadier than a pool whose workers get
 * preempted; {@code -p threads=0} uses all CPUs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class CompressionBenchmark {

    static final int SEQUENCES = 4;
    static final int LENGTH = 128;

    /** The decoder matrices every candidate compresses. */
    static final String DECODER = "model.layers.*";

    /** {@code fp32} (the base) or a compression applied to {@value #DECODER}. */
    @Param({"fp32", "int8", "int8-outlier", "int8-weight", "q8_0", "q4_0",
            "magnitude:0.5", "magnitude:0.9", "2:4"})
    public String candidate;

    /** Worker threads of the session (0 = all CPUs). */
    @Param({"1"})
    public int threads;

    private Model base;
    private Session baseSession;
    private Model model;
    private Session session;
    private int basePosition;
    private boolean baseFirst;
    /** Paired timings of the current iteration and of all measurement iterations. */
    private long candidateNanos;
    private long baseNanos;
    private long pairs;
    private long trialCandidateNanos;
    private long trialBaseNanos;
    /** fp32 time ÷ candidate time of each pair: of the current iteration, of all measurement iterations. */
    private double[] pairRatios = new double[1024];
    private double[] trialPairRatios = new double[0];
    private final List<String> iterationRatios = new ArrayList<>();
    private String pairedName;
    private List<int[]> batch;
    private int[] stream;
    private float[] logits;
    private int position;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        base = DefaultModel.load();
        String text = "Once upon a time, there was a little girl named Lily. She loved to play outside. ";
        int[] tokens = base.tokenizer().encode(text.repeat(40), true);
        batch = new ArrayList<>();
        for (int s = 0; s < SEQUENCES; s++) {
            int[] seq = new int[LENGTH];
            System.arraycopy(tokens, 7 * s, seq, 0, LENGTH);
            seq[0] = base.tokenizer().bos();
            batch.add(seq);
        }
        stream = tokens;
        baseSession = base.newSession(SessionOptions.defaults().withThreads(threads));
        ScoreResult baseScores = baseSession.score(batch);
        // The fp32 candidate is a candidate that compresses nothing: the base's weights, shared.
        model = candidate.equals("fp32") ? base.compress(java.util.Map.of(), null, threads)
                : Plan.of(DECODER, Compression.parse(candidate)).apply(base, null, threads);
        session = model.newSession(SessionOptions.defaults().withThreads(threads));
        ScoreResult mine = session.score(batch);
        if (mine.tokenCount() != SEQUENCES * LENGTH) {
            throw new IllegalStateException("scored " + mine.tokenCount() + " positions");
        }
        report(base, model, baseScores, mine);
        logits = new float[model.config().vocabSize()];
    }

    private void report(Model base, Model cand, ScoreResult baseScores, ScoreResult mine) {
        long decoderBase = 0;
        long decoderMine = 0;
        long allBase = base.storageBytes();
        long allMine = cand.storageBytes();
        java.util.TreeMap<String, Integer> formats = new java.util.TreeMap<>();
        for (int i = 0; i < cand.components().size(); i++) {
            Component b = base.components().get(i);
            Component c = cand.components().get(i);
            if (c.kind().inLayer()) {
                decoderBase += b.storageBytes();
                decoderMine += c.storageBytes();
                formats.merge(c.format().label(), 1, Integer::sum);
                if (!candidate.equals("fp32") && c.format() == WeightFormat.FP32 && c.sparsity() == 0) {
                    throw new IllegalStateException(c.name() + " was left uncompressed");
                }
            } else if (c.format() != WeightFormat.FP32) {
                // The embedding and the head stay fp32 in every candidate.
                throw new IllegalStateException(c.name() + " is " + c.format().label());
            }
        }
        int agree = 0;
        int positions = 0;
        for (int s = 0; s < mine.sequenceCount(); s++) {
            int[] a = baseScores.argmax(s);
            int[] m = mine.argmax(s);
            for (int p = 0; p < a.length; p++) {
                agree += a[p] == m[p] ? 1 : 0;
                positions++;
            }
        }
        System.out.printf(Locale.ROOT, "%n[compression] %-13s decoder %,12d B (%.3fx fp32)  all weights %,12d B "
                        + "(%.3fx fp32)  formats %s  argmax agreement with fp32 %.3f  threads %d%n",
                candidate, decoderMine, (double) decoderMine / decoderBase, allMine, (double) allMine / allBase,
                formats, (double) agree / positions, session.threads());
    }

    @Setup(Level.Iteration)
    public void startIteration() {
        candidateNanos = 0;
        baseNanos = 0;
        pairs = 0;
    }

    @TearDown(Level.Iteration)
    public void endIteration(IterationParams iteration) {
        if (pairs == 0) {
            return;  // not a paired benchmark
        }
        if (iteration.getType() == IterationType.MEASUREMENT) {
            trialCandidateNanos += candidateNanos;
            trialBaseNanos += baseNanos;
            double[] r = Arrays.copyOf(pairRatios, (int) pairs);
            Arrays.sort(r);
            iterationRatios.add(String.format(Locale.ROOT, "%.3f", median(r)));
            int from = trialPairRatios.length;
            trialPairRatios = Arrays.copyOf(trialPairRatios, from + r.length);
            System.arraycopy(r, 0, trialPairRatios, from, r.length);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (trialCandidateNanos > 0) {
            // Same work on both sides of a pair: the speed ratio is the inverse time ratio. The
            // median over pairs shrugs off the pairs in which another process took the CPU.
            Arrays.sort(trialPairRatios);
            System.out.printf(Locale.ROOT, "%n[compression] %s %-13s %.3f x fp32 (median of %d pairs; per "
                            + "measurement iteration %s; ratio of total times %.3f: candidate %.1f ms, fp32 %.1f ms)%n",
                    pairedName, candidate, median(trialPairRatios), trialPairRatios.length,
                    String.join(" ", iterationRatios), (double) trialBaseNanos / trialCandidateNanos,
                    trialCandidateNanos / 1e6, trialBaseNanos / 1e6);
        }
        session.close();
        model.close();
        baseSession.close();
        base.close();
    }

    /** One token through the whole candidate (KV cache of the session). */
    @Benchmark
    public float decode() {
        position = decodeNext(session, position);
        return logits[0];
    }

    /** Teacher-forced scoring of the whole batch by the candidate; ops/s are scored tokens/s. */
    @Benchmark
    @OperationsPerInvocation(SEQUENCES * LENGTH)
    public ScoreResult score() {
        return session.score(batch);
    }

    /** One token through the candidate and one through the fp32 base; see the class comment. */
    @Benchmark
    public float decodeVsFp32() {
        pairedName = "decode";
        baseFirst = !baseFirst;
        if (baseFirst) {
            long t0 = System.nanoTime();
            basePosition = decodeNext(baseSession, basePosition);
            long t1 = System.nanoTime();
            position = decodeNext(session, position);
            long t2 = System.nanoTime();
            recordPair(t2 - t1, t1 - t0);
        } else {
            long t0 = System.nanoTime();
            position = decodeNext(session, position);
            long t1 = System.nanoTime();
            basePosition = decodeNext(baseSession, basePosition);
            long t2 = System.nanoTime();
            recordPair(t1 - t0, t2 - t1);
        }
        return logits[0];
    }

    /** The batch scored by the candidate and by the fp32 base; see the class comment. */
    @Benchmark
    public int scoreVsFp32() {
        pairedName = "score";
        baseFirst = !baseFirst;
        ScoreResult a;
        ScoreResult b;
        if (baseFirst) {
            long t0 = System.nanoTime();
            a = baseSession.score(batch);
            long t1 = System.nanoTime();
            b = session.score(batch);
            long t2 = System.nanoTime();
            recordPair(t2 - t1, t1 - t0);
        } else {
            long t0 = System.nanoTime();
            b = session.score(batch);
            long t1 = System.nanoTime();
            a = baseSession.score(batch);
            long t2 = System.nanoTime();
            recordPair(t1 - t0, t2 - t1);
        }
        return a.argmax()[0] + b.argmax()[0];
    }

    private void recordPair(long candidate, long fp32) {
        candidateNanos += candidate;
        baseNanos += fp32;
        if (pairs == pairRatios.length) {
            pairRatios = Arrays.copyOf(pairRatios, pairRatios.length * 2);
        }
        pairRatios[(int) pairs++] = (double) fp32 / candidate;
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private int decodeNext(Session s, int at) {
        if (at == model.config().maxSeqLen()) {
            s.reset();
            at = 0;
        }
        s.decode(stream[at], logits);
        return at + 1;
    }
}
