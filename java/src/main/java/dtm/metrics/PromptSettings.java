package dtm.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How a prompt set was made: enough to make it again and to tell whether a cached reference
 * was made from the same prompts.
 *
 * @param source        where the prompts came from
 * @param name          file name(s) or a description, for people (not compared)
 * @param sourceSha256  SHA-256 of the source bytes (for several files: of their hashes); for
 *                      {@link PromptSource#LIST} the hash of the prompt tokens
 * @param promptTokens  P, tokens cut from the text per prompt (BOS not counted); 0 when the
 *                      prompts come whole (JSONL, list)
 * @param count         prompts in the set
 * @param seed          seed of the choice of chunks (0 when nothing was chosen)
 */
public record PromptSettings(PromptSource source, String name, String sourceSha256, int promptTokens,
                             int count, long seed) {
    public PromptSettings {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(sourceSha256, "sourceSha256");
        if (promptTokens < 0) {
            throw new IllegalArgumentException("promptTokens must be >= 0, got " + promptTokens);
        }
        if (count < 1) {
            throw new IllegalArgumentException("count must be >= 1, got " + count);
        }
    }

    /**
     * What differs from {@code other}, one entry per setting ("prompt seed: 1 in the file, 2
     * asked"); empty when the two describe the same prompts. The name is not compared.
     *
     * @param mine   how to call this side, e.g. "in the file"
     * @param theirs how to call the other side, e.g. "asked"
     */
    public List<String> differences(PromptSettings other, String mine, String theirs) {
        List<String> out = new ArrayList<>();
        if (source != other.source) {
            out.add("prompt source: " + source.id() + " " + mine + ", " + other.source.id() + " " + theirs);
        }
        if (!sourceSha256.equals(other.sourceSha256)) {
            out.add("prompt source content (SHA-256): " + sourceSha256.substring(0, 12) + "... (" + name + ") "
                    + mine + ", " + other.sourceSha256.substring(0, 12) + "... (" + other.name + ") " + theirs);
        }
        if (promptTokens != other.promptTokens) {
            out.add("prompt tokens P: " + promptTokens + " " + mine + ", " + other.promptTokens + " " + theirs);
        }
        if (count != other.count) {
            out.add("prompt count: " + count + " " + mine + ", " + other.count + " " + theirs);
        }
        if (seed != other.seed) {
            out.add("prompt seed: " + seed + " " + mine + ", " + other.seed + " " + theirs);
        }
        return out;
    }

    /** One line for people, e.g. "text stories.txt, 256 prompts of 64 tokens, seed 1". */
    public String describe() {
        StringBuilder b = new StringBuilder(source.id()).append(' ').append(name).append(", ")
                .append(count).append(count == 1 ? " prompt" : " prompts");
        if (promptTokens > 0) {
            b.append(" of ").append(promptTokens).append(" tokens + BOS, seed ").append(seed);
        }
        return b.toString();
    }
}
