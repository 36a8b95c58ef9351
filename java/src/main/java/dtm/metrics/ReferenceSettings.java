package dtm.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What identifies a reference: the base model (content hashes), its vocabulary size, the
 * {@link ReferenceOptions} and the prompts. A cached reference is reused only when all of it
 * matches.
 *
 * @param base          fingerprint of the base model and tokenizer
 * @param vocabSize     the base's vocabulary size
 * @param options       N, top-k, stop-at-EOS
 * @param prompts       how the prompts were made
 * @param promptsSha256 SHA-256 of the prompt tokens ({@link PromptSet#sha256()})
 */
public record ReferenceSettings(ModelFingerprint base, int vocabSize, ReferenceOptions options,
                                PromptSettings prompts, String promptsSha256) {
    public ReferenceSettings {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(prompts, "prompts");
        Objects.requireNonNull(promptsSha256, "promptsSha256");
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize must be >= 1, got " + vocabSize);
        }
    }

    /**
     * What differs from {@code wanted}, one entry per setting, e.g. "N: 32 in the file, 100
     * asked"; empty when they match.
     */
    public List<String> differences(ReferenceSettings wanted) {
        String mine = "in the file";
        String theirs = "asked";
        List<String> out = new ArrayList<>();
        if (!base.modelSha256().equals(wanted.base.modelSha256())) {
            out.add("base model (SHA-256): " + base.modelSha256().substring(0, 12) + "... " + mine + ", "
                    + wanted.base.modelSha256().substring(0, 12) + "... " + theirs);
        }
        if (!base.tokenizerSha256().equals(wanted.base.tokenizerSha256())) {
            out.add("tokenizer (SHA-256): " + base.tokenizerSha256().substring(0, 12) + "... " + mine + ", "
                    + wanted.base.tokenizerSha256().substring(0, 12) + "... " + theirs);
        }
        if (vocabSize != wanted.vocabSize) {
            out.add("vocabulary: " + vocabSize + " tokens " + mine + ", " + wanted.vocabSize + " " + theirs);
        }
        if (options.n() != wanted.options.n()) {
            out.add("N: " + options.n() + " " + mine + ", " + wanted.options.n() + " " + theirs);
        }
        if (options.topK() != wanted.options.topK()) {
            out.add("top-k: " + options.topK() + " " + mine + ", " + wanted.options.topK() + " " + theirs);
        }
        if (options.stopAtEos() != wanted.options.stopAtEos()) {
            out.add("stop at EOS: " + options.stopAtEos() + " " + mine + ", " + wanted.options.stopAtEos() + " " + theirs);
        }
        List<String> promptDiffs = prompts.differences(wanted.prompts, mine, theirs);
        out.addAll(promptDiffs);
        if (promptDiffs.isEmpty() && !promptsSha256.equals(wanted.promptsSha256)) {
            out.add("prompt tokens (SHA-256): " + promptsSha256.substring(0, 12) + "... " + mine + ", "
                    + wanted.promptsSha256.substring(0, 12) + "... " + theirs);
        }
        return out;
    }

    /** Whether the base is the model with this fingerprint. */
    public boolean hasBase(ModelFingerprint model) {
        return base.equals(model);
    }
}
