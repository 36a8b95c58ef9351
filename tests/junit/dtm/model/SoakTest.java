package dtm.model;

import dtm.data.DefaultModel;
import dtm.metrics.EvaluationOptions;
import dtm.metrics.EvaluationResult;
import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.metrics.ReferenceOptions;
import dtm.metrics.RunOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Soak: load / compress / evaluate / close cycles of the default model in one JVM leave resident
 * memory, threads and mappings flat; sessions on many threads at once over one shared model give
 * bitwise the results of one thread.
 *
 * <p>CI runs {@value #CI_CYCLES} cycles; {@code -Ddtm.soak.cycles=1000} runs the 1,000
 * (docs/reliability.md gives the command and the figures measured).
 */
class SoakTest {
    private static final int CI_CYCLES = 150;
    private static final int CYCLES = Integer.getInteger("dtm.soak.cycles", CI_CYCLES);
    /** Cycles before the baseline is taken: heaps, JIT and allocator arenas settle first. */
    private static final int WARM_UP = 20;
    /**
     * Resident growth allowed from the baseline to the end: 24 MiB, well under half of one leaked
     * model (its 58 MiB file is mapped once per load), and at most 24 KiB per cycle over the
     * cycles measured (a leak of one 16x64 logits row per cycle would show over 1,000 cycles).
     */
    private static final long ALLOWED_GROWTH = 24L << 20;
    private static final long ALLOWED_PER_CYCLE = 24L << 10;

    private static Model shared;
    private static Reference reference;
    private static Path modelFile;
    private static long sharedMappings;

    @BeforeAll
    static void load() throws IOException {
        shared = DefaultModel.load();
        modelFile = shared.path().toRealPath();
        sharedMappings = mappingsOf(modelFile);
        PromptSet prompts = PromptSet.of(shared, List.of("Once upon a time", "Lily and Ben went to the park",
                "The little dog was sad because", "Tom had a red ball"));
        reference = Reference.generate(shared, prompts, new ReferenceOptions(12, 4, false));
    }

    @AfterAll
    static void close() {
        if (shared != null) {
            shared.close();
        }
    }

    @Test
    void loadCompressEvaluateCloseLeavesMemoryFlat() throws IOException {
        EvaluationOptions options = EvaluationOptions.defaults()
                .withRun(RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(2)));
        Compression[] settings = {Compression.magnitude(0.5), Compression.int8(), Compression.q4_0()};
        int[] expectedFdt = null;
        long baseline = 0;
        int baselineThreads = 0;
        List<long[]> samples = new ArrayList<>();  // (cycle, rss)
        long start = System.nanoTime();
        for (int cycle = 0; cycle < CYCLES + WARM_UP; cycle++) {
            Compression setting = settings[cycle % settings.length];
            try (Model base = DefaultModel.load()) {
                int component = base.findComponents("model.layers." + (cycle % base.config().layers())
                        + ".mlp.down_proj")[0];
                try (Model candidate = base.compress(Map.of(component, setting), null, 2)) {
                    EvaluationResult r = reference.evaluate(candidate, options);
                    assertEquals(reference.prompts().size(), r.sampleCount());
                    if (cycle == 0) {
                        expectedFdt = r.fdt();
                    } else if (cycle % settings.length == 0 && cycle % base.config().layers() == 0) {
                        assertArrayEquals(expectedFdt, r.fdt(), "cycle " + cycle + " evaluates as cycle 0 did");
                    }
                }
            }
            assertEquals(sharedMappings, mappingsOf(modelFile), "cycle " + cycle
                    + ": the closed model's file is still mapped");
            if (cycle == WARM_UP - 1) {
                baseline = settledRss();
                baselineThreads = threads();
            } else if (cycle >= WARM_UP && (cycle - WARM_UP) % 25 == 24) {
                samples.add(new long[] {cycle, settledRss()});
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long end = settledRss();
        samples.add(new long[] {CYCLES + WARM_UP, end});
        double slope = slope(samples);
        System.err.printf("soak: %d cycles (+%d warm-up) in %.1f s (%.0f ms each); RSS %.1f MiB after warm-up, "
                        + "%.1f MiB at the end (%+.1f MiB), slope %+.1f KiB/cycle; threads %d -> %d%n", CYCLES,
                WARM_UP, seconds, 1000 * seconds / (CYCLES + WARM_UP), baseline / 1048576.0, end / 1048576.0,
                (end - baseline) / 1048576.0, slope / 1024, baselineThreads, threads());
        assertTrue(end - baseline <= ALLOWED_GROWTH, "resident memory grew by " + (end - baseline) / 1024
                + " KiB over " + CYCLES + " cycles (allowed " + ALLOWED_GROWTH / 1024 + " KiB)");
        assertTrue(slope <= ALLOWED_PER_CYCLE, "resident memory grows by " + (long) slope + " bytes per cycle "
                + "(allowed " + ALLOWED_PER_CYCLE + ")");
        assertTrue(threads() <= baselineThreads + 2, "threads went from " + baselineThreads + " to " + threads());
    }

    @Test
    void sessionsOnManyThreadsOverOneModelGiveTheSingleThreadedResults() throws Exception {
        int workers = 8;
        int rounds = 3;
        int component = shared.findComponents("model.layers.2.self_attn.v_proj")[0];
        try (Model candidate = shared.compress(Map.of(component, Compression.int8()), null, 1)) {
            EvaluationOptions one = EvaluationOptions.defaults()
                    .withRun(RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(1)));
            EvaluationResult expected = reference.evaluate(candidate, one);
            EvaluationResult expectedExact = reference.evaluate(candidate, one.withBase(shared));
            List<int[]> sequences = List.of(reference.prompts().prompt(0), reference.prompts().prompt(1));
            float[] expectedLogits;
            int[] expectedText;
            try (Session s = shared.newSession(SessionOptions.defaults().withThreads(1))) {
                expectedLogits = s.score(sequences, true).logits();
                s.reset();
                expectedText = s.generate(reference.prompts().prompt(2), 24);
            }
            ExecutorService pool = Executors.newFixedThreadPool(workers);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int w = 0; w < workers; w++) {
                    final int worker = w;
                    futures.add(pool.submit(() -> {
                        for (int round = 0; round < rounds; round++) {
                            switch ((worker + round) % 3) {
                                case 0 -> {
                                    EvaluationResult r = reference.evaluate(candidate, one);
                                    assertEquals(expected.samples(), r.samples(), "worker " + worker);
                                    assertEquals(expected.aggregates(), r.aggregates(), "worker " + worker);
                                }
                                case 1 -> {
                                    EvaluationResult r = reference.evaluate(candidate, one.withBase(shared));
                                    assertEquals(expectedExact.samples(), r.samples(), "worker " + worker);
                                }
                                default -> {
                                    try (Session s = shared.newSession(SessionOptions.defaults().withThreads(1))) {
                                        assertArrayEquals(expectedLogits, s.score(sequences, true).logits(),
                                                "worker " + worker);
                                        s.reset();
                                        assertArrayEquals(expectedText, s.generate(reference.prompts().prompt(2), 24),
                                                "worker " + worker);
                                    }
                                }
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get(5, TimeUnit.MINUTES);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    // ------------------------------------------------------------------------------------

    /** Resident set size after a full collection, in bytes (Linux: /proc/self/status VmRSS). */
    private static long settledRss() throws IOException {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return statusField("VmRSS") * 1024;
    }

    private static int threads() throws IOException {
        return (int) statusField("Threads");
    }

    private static long statusField(String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(name + ":")) {
                return Long.parseLong(line.substring(name.length() + 1).trim().split("\\s+")[0]);
            }
        }
        throw new IllegalStateException("no " + name + " in /proc/self/status");
    }

    /** Mappings of {@code file} in this process (/proc/self/maps). */
    private static long mappingsOf(Path file) throws IOException {
        String name = file.toString();
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.endsWith(name)).count();
    }

    /** Least-squares slope of rss over cycle, bytes per cycle. */
    private static double slope(List<long[]> points) {
        double n = points.size();
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double sxy = 0;
        for (long[] p : points) {
            sx += p[0];
            sy += p[1];
            sxx += (double) p[0] * p[0];
            sxy += (double) p[0] * p[1];
        }
        double d = n * sxx - sx * sx;
        return d == 0 ? 0 : (n * sxy - sx * sy) / d;
    }
}
