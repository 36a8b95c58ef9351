package dtm.cli;

import dtm.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code dtm convert}: a model written as a Hugging Face checkpoint directory. */
@Command(name = "convert",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Write a model as a Hugging Face checkpoint directory.",
        description = {
                "Writes config.json, model.safetensors (fp32; q/k rows in Hugging Face's rotate-half "
                        + "order) and tokenizer.json + tokenizer_config.json (a BPE tokenizer that encodes "
                        + "every text as the llama2.c tokenizer.bin does) into DIR. Loading DIR with "
                        + "--model DIR gives the same greedy text and bitwise the same logits.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  dtm convert --out stories15M-hf",
                "  dtm generate --model stories15M-hf \"Once upon a time\"",
                "  dtm convert --model out/model.bin --tokenizer out/tokenizer.bin --out out/hf"})
final class ConvertCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Directory to write (created if needed). An existing one must be empty or a "
                    + "checkpoint dtm wrote, unless --force; dtm's files in it are replaced.")
    Path out;

    @Mixin
    ModelSelection modelSelection;

    @Mixin
    CommonOptions common;

    @Mixin
    ForceOption force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        long start = System.nanoTime();
        Path target = OutputGuard.of(spec, force, List.of("--out"), modelSelection.defaultInputs())
                .check(out, OutputKind.CHECKPOINT_DIRECTORY);
        try (Model model = modelSelection.load()) {
            model.saveHuggingFace(target);
        }
        System.out.println(out.toAbsolutePath());
        if (common.verbose) {
            System.err.printf("converted in %.1f s%n", (System.nanoTime() - start) / 1e9);
        }
        return 0;
    }
}
