package dtm.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Java parsers of files that come from anywhere (reference files, plan JSON, prompt JSONL,
 * scan checkpoints, tokenizer.json) fuzzed: only the exceptions their documentation names ever
 * come out (see {@link Parsers}).
 *
 * <ul>
 *   <li>{@link #mutants}: seeded mutations of the seed corpus ({@link Mutator}), each target with
 *       and without repaired checksums; {@code -Ddtm.fuzz.mutants=N} mutants per target and mode
 *       (default 1500), {@code -Ddtm.fuzz.seed=S} another sequence. A finding is written to
 *       {@code target/fuzz-findings/} and named in the failure; the input being read when a
 *       native crash ended the JVM is left there as {@code last-<target>}.</li>
 *   <li>The {@code @FuzzTest} methods: Jazzer's coverage-guided fuzzing of the same targets.
 *       Without {@code JAZZER_FUZZ=1} they run the seed corpus and the findings kept beside it
 *       (regression mode); with it, one method fuzzes for its {@code maxDuration} (see
 *       docs/reliability.md for the command).</li>
 * </ul>
 */
class ParserFuzzTest {
    private static final int MUTANTS = Integer.getInteger("dtm.fuzz.mutants", 1500);
    private static final long SEED = Long.getLong("dtm.fuzz.seed", 18);
    /** Longer than any parse of these small files takes: an input over it is a hang. */
    private static final Duration PER_INPUT = Duration.ofSeconds(10);
    /** Where findings go, and the input each target is reading (what a native crash leaves behind). */
    private static final Path LAST = Path.of("target", "fuzz-findings");

    @Test
    void everySeedIsAccepted() throws IOException {
        for (String name : Parsers.NAMES) {
            for (Seeds.Seed seed : Seeds.all(name)) {
                if (seed.name().startsWith("finding-")) {
                    continue;  // a kept finding is refused, as it should be
                }
                assertTrue(Parsers.target(name, false).accept(seed.bytes()),
                        name + " seed " + seed.name() + " is refused: regenerate the corpus (tests/corpus-java/README.md)");
                assertTrue(Parsers.target(name, true).accept(seed.bytes()), name + " seed " + seed.name()
                        + " is refused after checksum repair");
            }
        }
    }

    @TestFactory
    List<DynamicTest> mutants() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : Parsers.NAMES) {
            boolean checksums = name.equals("reference") || name.equals("checkpoint");
            tests.add(DynamicTest.dynamicTest(name, () -> fuzz(name, false)));
            if (checksums) {
                tests.add(DynamicTest.dynamicTest(name + " (checksums repaired)", () -> fuzz(name, true)));
            }
        }
        return tests;
    }

    private static void fuzz(String name, boolean repair) throws IOException {
        List<Seeds.Seed> seeds = Seeds.all(name);
        List<byte[]> bytes = seeds.stream().map(Seeds.Seed::bytes).toList();
        // Mutants start from the real files; the kept findings (refused) only join splices.
        List<byte[]> bases = seeds.stream().filter(s -> !s.name().startsWith("finding-")).map(Seeds.Seed::bytes).toList();
        Parsers.Target target = Parsers.target(name, repair);
        if (name.equals("prompts")) {
            Parsers.model();  // loaded once, outside the timed inputs
        }
        Files.createDirectories(LAST);
        assertTimeoutPreemptively(PER_INPUT.multipliedBy(MUTANTS), () -> {
            int accepted = 0;
            for (int i = 0; i < MUTANTS; i++) {
                long seed = SEED * 1_000_003L + i * 31L + name.hashCode() + (repair ? 7 : 0);
                byte[] base = bases.get(i % bases.size());
                byte[] input = new Mutator(seed, bytes).mutate(base);
                // Kept before the call: a native crash ends the JVM without a word from this test.
                Files.write(LAST.resolve("last-" + name + (repair ? "-repaired" : "")), input);
                long start = System.nanoTime();
                try {
                    if (target.accept(input)) {
                        accepted++;
                    }
                } catch (Throwable t) {
                    fail(finding(name, repair, seed, input, t), t);
                }
                long ms = (System.nanoTime() - start) / 1_000_000;
                if (ms > PER_INPUT.toMillis()) {
                    fail(finding(name, repair, seed, input, new AssertionError("took " + ms + " ms")));
                }
            }
            System.err.printf("fuzz %s%s: %d mutants, %d accepted%n", name, repair ? " (repaired)" : "", MUTANTS,
                    accepted);
        });
    }

    /** Keeps the input under target/fuzz-findings and says what happened. */
    private static String finding(String name, boolean repair, long seed, byte[] input, Throwable t) {
        Path dir = LAST;
        String file = "finding-" + name + (repair ? "-repaired" : "") + "-" + seed;
        try {
            Files.createDirectories(dir);
            Files.write(dir.resolve(file), input);
        } catch (IOException e) {
            file += " (not written: " + e.getMessage() + ")";
        }
        StringWriter trace = new StringWriter();
        t.printStackTrace(new PrintWriter(trace));
        return name + (repair ? " (checksums repaired)" : "") + ": mutant " + seed + " (" + dir.resolve(file)
                + ", " + input.length + " bytes) threw " + trace;
    }

    // Jazzer: coverage-guided fuzzing with JAZZER_FUZZ=1, else the seeds in ParserFuzzTestInputs/<method>.

    @FuzzTest(maxDuration = "10m")
    void reference(byte[] data) throws IOException {
        Parsers.target("reference", true).accept(data);
    }

    @FuzzTest(maxDuration = "10m")
    void plan(byte[] data) throws IOException {
        Parsers.target("plan", false).accept(data);
    }

    @FuzzTest(maxDuration = "10m")
    void prompts(byte[] data) throws IOException {
        Parsers.target("prompts", false).accept(data);
    }

    @FuzzTest(maxDuration = "10m")
    void checkpoint(byte[] data) throws IOException {
        Parsers.target("checkpoint", true).accept(data);
    }

    @FuzzTest(maxDuration = "10m")
    void tokenizer(byte[] data) throws IOException {
        Parsers.target("tokenizer", false).accept(data);
    }
}
