package dtm.export;

import java.util.Locale;

/** The formats {@code dtm export} writes (docs/export.md). */
public enum ExportFormat {
    /** llama.cpp's GGUF v3, architecture "llama": one file. */
    GGUF("gguf"),
    /** A Hugging Face checkpoint directory (config.json, model.safetensors, tokenizer files). */
    HUGGING_FACE("hf");

    private final String label;

    ExportFormat(String label) {
        this.label = label;
    }

    /** The name on the command line. */
    public String label() {
        return label;
    }

    /**
     * The format named {@code text} ({@code gguf} or {@code hf}).
     *
     * @throws IllegalArgumentException another name
     */
    public static ExportFormat parse(String text) {
        for (ExportFormat f : values()) {
            if (f.label.equals(text.toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown export format '" + text + "': expected gguf or hf");
    }
}
