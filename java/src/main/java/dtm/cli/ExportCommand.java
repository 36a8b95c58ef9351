package dtm.cli;

import dtm.export.ExportFormat;
import dtm.export.ModelExport;
import dtm.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code dtm export}: a model or candidate as GGUF (llama.cpp) or a Hugging Face checkpoint (transformers, vLLM). */
@Command(name = "export",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Write a model or a compressed candidate as GGUF or as a Hugging Face checkpoint.",
        description = {
                "Applies --plan / --compress rules to the base (--model), or loads a candidate file "
                        + "(--candidate), and writes the result where the runtimes users ship on load it:",
                "  gguf  one GGUF v3 file of llama.cpp's llama architecture: each matrix in the GGUF type "
                        + "of its storage format (fp32/pruned: F32, fp16: F16, bf16: BF16, q8_0/q4_0: Q8_0/Q4_0 "
                        + "with dtm's very blocks; int8 formats, which GGUF lacks: Q8_0, said on stderr), "
                        + "the llama metadata and the tokenizer.",
                "  hf    a checkpoint directory (config.json, model.safetensors, tokenizer files): pruned "
                        + "matrices dense in the checkpoint's dtype, naive int8 in compressed-tensors' "
                        + "int-quantized layout that vLLM runs. int8-outlier, int8-weight, q8_0 and q4_0 are "
                        + "refused (no such scheme); 'dtm --model DIR' reads a plain export back bitwise.",
                "A plan made for another base (its \"base\" fingerprint) is refused. Files are written "
                        + "to a temporary file and renamed. See docs/export.md.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  dtm export --format gguf --out stories15M.gguf",
                "  dtm export --plan dtm-report/plan-fdt-guided-int8.json --format gguf --out int8.gguf",
                "  dtm export --compress 'model.layers.*=q4_0' --format gguf --out q4_0.gguf",
                "  dtm export --compress 'model.layers.*=int8' --format hf --out stories15M-w8a8",
                "  dtm perplexity --compress 'model.layers.*=q4_0'     # the same candidate, measured in dtm"})
final class ExportCommand implements Callable<Integer> {

    @Option(names = "--format", required = true, paramLabel = "FORMAT", converter = FormatConverter.class,
            description = "gguf or hf.")
    ExportFormat format;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "PATH",
            description = "The GGUF file, or the checkpoint directory (created if needed) to write.")
    Path out;

    @Mixin
    ModelSelection modelSelection;

    @Mixin
    CandidateSelection candidateSelection;

    @Mixin
    SessionSelection sessionSelection;

    @Mixin
    CommonOptions common;

    @Mixin
    ForceOption force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Path target = OutputGuard.of(spec, force, List.of("--out"), modelSelection.defaultInputs())
                .check(outputPath(out, format), format == ExportFormat.GGUF ? OutputKind.GGUF
                        : OutputKind.CHECKPOINT_DIRECTORY);
        PrintStream err = System.err;
        try (Model base = modelSelection.load();
             Model model = candidateSelection.open(base, sessionSelection.options(), modelSelection.finiteCheck)) {
            ModelExport.Result result = ModelExport.write(model, format, target);
            for (String note : result.notes()) {
                err.println("note: " + note);
            }
            long fp32 = 4 * base.config().parameters();
            err.printf(Locale.ROOT, "wrote %s (%s): %,d bytes, %.3f x the model's %,d parameters in fp32%n",
                    result.path(), candidateSelection.describe(base), result.bytes(), (double) result.bytes() / fp32,
                    base.config().parameters());
        }
        System.out.println(target.toAbsolutePath());
        return 0;
    }

    /**
     * Where the export goes: {@code out} itself, a file for GGUF (its directory created if needed)
     * or a directory for Hugging Face. The one place that decides about the output path.
     */
    static Path outputPath(Path out, ExportFormat format) throws IOException {
        if (format == ExportFormat.GGUF) {
            if (Files.isDirectory(out)) {
                throw new IllegalArgumentException("--out " + out + " is a directory; a GGUF export is one file");
            }
            Path parent = out.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
        } else if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + " is a file; a Hugging Face export is a directory");
        }
        return out;
    }

    /** Parses gguf|hf. */
    static final class FormatConverter implements ITypeConverter<ExportFormat> {
        @Override
        public ExportFormat convert(String value) {
            try {
                return ExportFormat.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("expected gguf or hf, got '" + value + "'");
            }
        }
    }
}
