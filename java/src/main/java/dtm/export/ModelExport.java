package dtm.export;

import dtm.model.GgufVocabulary;
import dtm.model.Model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Writes a model (a base, or a candidate a plan made) in a format a runtime loads: GGUF for
 * llama.cpp, a Hugging Face checkpoint for transformers and vLLM (docs/export.md). Every file is
 * written to a temporary file and renamed.
 */
public final class ModelExport {
    /** The files a Hugging Face export writes (the last three only when the checkpoint had them). */
    private static final List<String> WRITTEN = List.of("config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "generation_config.json");

    private ModelExport() {
    }

    /**
     * What an export wrote.
     *
     * @param path  the file (GGUF) or directory (Hugging Face)
     * @param bytes bytes written: the file's size, or the sum over the directory's files
     * @param notes what did not leave dtm as it was evaluated (one line each); may be empty
     */
    public record Result(Path path, long bytes, List<String> notes) {
        public Result {
            Objects.requireNonNull(path, "path");
            notes = List.copyOf(notes);
        }
    }

    /** Writes {@code model} in {@code format} to {@code out} (a file for GGUF, a directory for Hugging Face). */
    public static Result write(Model model, ExportFormat format, Path out) {
        return format == ExportFormat.GGUF ? gguf(model, out) : huggingFace(model, out);
    }

    /**
     * Writes {@code model} as a GGUF file of llama.cpp's llama architecture with its tokenizer
     * ({@link GgufVocabulary#of}); general.name is the model file's name.
     */
    public static Result gguf(Model model, Path file) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(file, "file");
        GgufVocabulary vocabulary = GgufVocabulary.of(model);
        model.exportGguf(file, vocabulary, model.path().getFileName().toString());
        return new Result(file, size(file), ExportMapping.ggufNotes(model));
    }

    /** Writes {@code model} as a Hugging Face checkpoint directory ({@link Model#exportHuggingFace}). */
    public static Result huggingFace(Model model, Path dir) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(dir, "dir");
        model.exportHuggingFace(dir);
        long bytes = 0;
        for (String name : WRITTEN) {
            Path f = dir.resolve(name);
            if (Files.isRegularFile(f)) {
                bytes += size(f);
            }
        }
        return new Result(dir, bytes, List.of());
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the size of " + file, e);
        }
    }
}
