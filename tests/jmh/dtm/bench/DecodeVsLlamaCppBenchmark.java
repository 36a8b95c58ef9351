package dtm.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.TokenPrompts;
import de.kherud.llama.args.CacheType;
import de.kherud.llama.args.LogFormat;
import dtm.compress.Plan;
import dtm.data.DefaultModel;
import dtm.engine.Isa;
import dtm.export.ModelExport;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.Session;
import dtm.model.SessionOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
 * Decoding against llama.cpp like for like (issue 19): the default model with every matrix,
 * the output head included, in one format, run by dtm and by llama.cpp (through its Java
 * binding de.kherud:llama, CPU only) on the same threads. llama.cpp loads the GGUF that dtm's
 * own exporter writes of that very candidate (docs/export.md: fp32 as F32, q8_0 and q4_0 as
 * Q8_0 / Q4_0 with dtm's blocks bitwise, naive int8 as Q8_0 of its effective weights), so both
 * run the same tensors; the token embedding stays F32 in both. Score: tokens per second of a
 * greedy continuation of {@value #NEW_TOKENS} tokens after a 5-token prompt (prompt processing
 * included, in both), one sequence, not stopping at EOS; llama.cpp's KV cache in F32 as dtm's.
 *
 * <p>The binding's llama.cpp library is built for AVX2 (it has no AVX-512 instruction), so the
 * like-for-like row is {@code dtm-avx2} (dtm on its AVX2 kernels); {@code dtm} is dtm on the
 * best kernels of the machine, as users run it. Both sides decode exactly {@value #NEW_TOKENS}
 * tokens (dtm does not stop at EOS, llama.cpp ignores it), so the work per call is the same.
 *
 * <p>Run: {@code mvn -DskipTests -Pjmh package -Djmh.args="DecodeVsLlamaCppBenchmark"}; the ratio
 * dtm-avx2 / llama.cpp of each (format, threads) pair is the figure to report. llama.cpp's OpenMP
 * workers spin while they wait, so on a shared machine its 2-thread rows scatter more than dtm's
 * ({@code OMP_WAIT_POLICY=passive} in the environment makes them sleep instead).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class DecodeVsLlamaCppBenchmark {

    private static final int NEW_TOKENS = 64;

    /** Which implementation runs. */
    @Param({"dtm", "dtm-avx2", "llama.cpp"})
    public String engine;

    /** The format of every matrix (dtm's compression; "fp32" = none). */
    @Param({"fp32", "q8_0", "q4_0", "int8"})
    public String format;

    /** Threads of both. */
    @Param({"1", "2"})
    public int threads;

    private Model base;
    private Model candidate;
    private Session session;
    private Path dir;
    private LlamaModel llama;
    private int[] prompt;
    private InferenceParameters request;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        base = DefaultModel.load();
        candidate = format.equals("fp32") ? base.compress(Map.of(), null, threads)
                : Plan.of("*", Compression.parse(format)).apply(base, null, threads);
        prompt = base.tokenizer().encode("Once upon a time", true);
        if (engine.startsWith("dtm")) {
            SessionOptions options = SessionOptions.defaults().withThreads(threads);
            session = candidate.newSession(engine.equals("dtm-avx2") ? options.withIsa(Isa.AVX2) : options);
            if (session.generate(prompt, NEW_TOKENS).length != NEW_TOKENS) {
                throw new IllegalStateException("dtm generated fewer tokens than asked");
            }
        } else {
            dir = Files.createTempDirectory("dtm-bench-llama");
            System.setProperty("de.kherud.llama.tmpdir", dir.toString());
            LlamaModel.setLogger(LogFormat.TEXT, (level, message) -> { });
            Path gguf = dir.resolve("stories15M-" + format + ".gguf");
            ModelExport.gguf(candidate, gguf);
            llama = new LlamaModel(new ModelParameters().setModel(gguf.toString()).setCtxSize(256)
                    .setThreads(threads).setThreadsBatch(threads).setCacheTypeK(CacheType.F32)
                    .setCacheTypeV(CacheType.F32).setGpuLayers(0));
            request = TokenPrompts.greedy(prompt, NEW_TOKENS);
            int outputs = TokenPrompts.streamedTokens(llama, request);
            if (outputs != NEW_TOKENS) {
                throw new IllegalStateException("llama.cpp generated " + outputs + " tokens, not " + NEW_TOKENS);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (session != null) {
            session.close();
        }
        if (llama != null) {
            llama.close();
        }
        candidate.close();
        base.close();
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(NEW_TOKENS)
    public Object decode() {
        return session != null ? session.generate(prompt, NEW_TOKENS) : llama.complete(request);
    }
}
