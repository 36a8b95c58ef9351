package dtm.cli;

import dtm.data.DefaultModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Absurd values of every numeric option (threads, token counts, prompt counts, top-k, context,
 * steps, windows, quantiles, sparsity) are refused with one line that names the limit, before
 * any large allocation, thread or long run: within seconds, never an OutOfMemoryError.
 */
class LimitsCliTest {
    @TempDir
    static Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @BeforeAll
    static void fetch() throws IOException {
        DefaultModel.fetch();
    }

    /** A case: the command line, the exit code, and what the error line must say. */
    record Limit(List<String> args, int exit, String says) {
        @Override
        public String toString() {
            return String.join(" ", args);
        }
    }

    private static Limit limit(int exit, String says, String... args) {
        return new Limit(List.of(args), exit, says);
    }

    static Stream<Limit> limits() {
        String ref = tmp.resolve("limits.dtmref").toString();
        String out = tmp.resolve("limits-report").toString();
        String[] small = {"--components", "model.layers.1.self_attn.q_proj", "--settings", "int8", "--count", "2",
                "--prompt-tokens", "8", "-n", "8", "--out", out, "--no-progress"};
        return Stream.of(
                limit(1, "--threads must be >= 0, got -1", "generate", "--threads", "-1", "Hi"),
                limit(1, "--threads must be at most", "generate", "--threads", "10000", "Hi"),
                limit(1, "--threads must be at most", "eval", "--threads", "10000", "--count", "2", "-n", "4"),
                limit(1, "--threads must be at most", "scan", "--threads", "2147483647"),
                limit(2, "-n must be >= 0, got -1", "generate", "-n", "-1", "Hi"),
                limit(1, "more than the model's context of 256", "generate", "-n", "1000000000", "Hi"),
                limit(1, "more than the model's context of 256", "generate", "-n", "2147483647", "Hi"),
                limit(1, "N (continuation tokens) must be >= 1, got 0", "reference", "--out", ref, "-n", "0"),
                limit(1, "more than the model's context of 256", "reference", "--out", ref, "-n", "1000000",
                        "--count", "2"),
                limit(1, "top-k must be >= 0", "reference", "--out", ref, "--top-k", "-1"),
                limit(1, "top-k 1000000000 is more than the vocabulary of 32000", "reference", "--out", ref,
                        "--top-k", "1000000000", "--count", "2", "-n", "4", "--no-progress"),
                limit(1, "a prompt set needs at least one prompt, 0 asked for", "reference", "--out", ref,
                        "--count", "0"),
                limit(1, "a prompt set needs at least one prompt, -1 asked for", "reference", "--out", ref,
                        "--count", "-1"),
                limit(1, "fewer than the 2000000000 prompts asked for", "reference", "--out", ref, "--count",
                        "2000000000"),
                limit(1, "prompt tokens P must be >= 1, got 0", "reference", "--out", ref, "--prompt-tokens", "0"),
                limit(1, "0 chunk(s) of 1000000000 tokens", "reference", "--out", ref, "--prompt-tokens",
                        "1000000000", "--count", "2"),
                limit(1, "--ctx must be >= 4", "perplexity", "--ctx", "-1"),
                limit(1, "at least 4 tokens, got 2", "perplexity", "--ctx", "2"),
                limit(1, "longer than the context of stories15M.bin (256 tokens)", "perplexity", "--ctx", "100000"),
                limit(2, "--q must be in [0, 100], got 150.0", "eval", "--q", "150"),
                limit(2, "--q must be in [0, 100], got -5.0", "eval", "--q", "-5"),
                limit(1, "--sparsity must be in (0, 1], got 2.0", cat("plan", small, "--sparsity", "2")),
                limit(1, "--steps must be in [1, 1000], got 0", cat("plan", small, "--steps", "0")),
                limit(1, "--steps must be in [1, 1000], got 1000000000", cat("plan", small, "--steps", "1000000000")),
                limit(1, "--ppl-windows must be >= 0", cat("plan", small, "--ppl-windows", "-1")),
                limit(1, "FDT threshold must be >= 0, got -1", cat("plan", small, "--fdt-threshold", "-1",
                        "--no-pruning")),
                limit(1, "--calibration-count must be >= 1, got -1", cat("scan", small, "--settings", "wanda:0.5",
                        "--calibration-count", "-1")),
                limit(1, "fewer than the 1000000000 prompts asked for", cat("scan", small, "--settings",
                        "wanda:0.5", "--calibration-count", "1000000000")));
    }

    private static String[] cat(String command, String[] small, String... more) {
        String[] a = new String[1 + small.length + more.length];
        a[0] = command;
        System.arraycopy(small, 0, a, 1, small.length);
        System.arraycopy(more, 0, a, 1 + small.length, more.length);
        return a;
    }

    @ParameterizedTest(name = "dtm {0}")
    @MethodSource("limits")
    void isRefusedInOneLineNamingTheLimit(Limit limit) {
        int code = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> Main.run(limit.args().toArray(String[]::new)),
                "dtm " + limit + " did not return within a minute");
        String err = console.err();
        assertEquals(limit.exit(), code, err);
        List<String> lines = err.strip().lines().toList();
        // exit 1: the error is the last line (stage lines such as "dtm: generating ..." may come
        // before it); exit 2: the first line, above the usage.
        String line = limit.exit() == 1 ? lines.get(lines.size() - 1) : lines.get(0);
        assertTrue(line.contains(limit.says()), "expected '" + limit.says() + "' in: " + line + "\n" + err);
        assertTrue(limit.exit() == 2 || line.startsWith("dtm: "), line);
    }
}
