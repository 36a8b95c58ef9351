package dtm.cli;

import dtm.model.Model;
import dtm.model.Session;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** {@code dtm generate}: a prompt and its greedy continuation, printed as llama2.c prints them. */
@Command(name = "generate",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Continue a prompt greedily and print it.",
        description = {
                "Encodes PROMPT with BOS, appends N tokens chosen by argmax (ties to the lowest id) "
                        + "and prints the prompt followed by the continuation, as llama2.c's run does at "
                        + "temperature 0. The prompt plus N must fit the model's context "
                        + "(256 tokens for the default model). With --plan / --compress (or --candidate) "
                        + "the model is the candidate they make, as 'dtm eval' and 'dtm export' take it.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  dtm generate \"Once upon a time\"",
                "  dtm generate -n 200 --threads 2 --isa scalar \"Lily and Ben\"",
                "  dtm generate --model out/model.bin --tokenizer out/tokenizer.bin \"Hello\"",
                "  dtm generate --compress 'model.layers.*=q4_0' \"Once upon a time\"   # a compressed candidate"})
final class GenerateCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "PROMPT", description = "The text to continue (not empty).")
    String prompt;

    @Option(names = {"-n", "--tokens"}, paramLabel = "N", defaultValue = "64",
            description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--stop-at-eos", description = "Stop early when the model writes end-of-sequence.")
    boolean stopAtEos;

    @Mixin
    ModelSelection modelSelection;

    @Mixin
    CandidateSelection candidateSelection;

    @Mixin
    SessionSelection sessionSelection;

    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (prompt.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "PROMPT is empty: give some text to continue");
        }
        if (tokens < 0) {
            throw new ParameterException(spec.commandLine(), "-n must be >= 0, got " + tokens);
        }
        PrintStream out = System.out;
        try (Model base = modelSelection.load();
             Model model = candidateSelection.open(base, sessionSelection.options(), modelSelection.finiteCheck);
             Session session = model.newSession(sessionSelection.options())) {
            int[] promptTokens = model.tokenizer().encode(prompt, true);
            long start = System.nanoTime();
            int[] generated = session.generate(new int[][] {promptTokens}, tokens, stopAtEos)[0];
            double seconds = (System.nanoTime() - start) / 1e9;

            int[] all = Arrays.copyOf(promptTokens, promptTokens.length + generated.length);
            System.arraycopy(generated, 0, all, promptTokens.length, generated.length);
            out.write(model.tokenizer().decodeBytes(all));
            out.write('\n');
            out.flush();

            if (common.verbose) {
                System.err.printf("dtm: %d prompt + %d generated tokens in %.3f s (%.1f tokens/s), "
                                + "kernel path %s, %d threads%n",
                        promptTokens.length, generated.length, seconds,
                        (promptTokens.length + generated.length) / Math.max(seconds, 1e-9),
                        session.isa(), session.threads());
            }
        }
        return 0;
    }
}
