package dtm.scan;

import java.util.List;
import java.util.Objects;

/**
 * One prompt's continuation by the base and by a candidate, token by token, for people to see
 * what FDT counts: the two agree on the first {@code fdt} tokens, and token {@code fdt} (when
 * there is one) is the first divergent token.
 *
 * @param label     why this sample was picked (e.g. "the sample at FDT_75")
 * @param sample    its index in the reference's prompt set
 * @param fdt       its first divergent token in the candidate's evaluation (= {@code base.size()}
 *                  when the candidate reproduces the whole continuation)
 * @param prompt    the prompt's text
 * @param base      the base's continuation y (the reference), one text piece per token
 * @param candidate the candidate's own greedy continuation of the same prompt, one piece per token
 */
public record TextSample(String label, int sample, int fdt, String prompt, List<String> base, List<String> candidate) {
    public TextSample {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(prompt, "prompt");
        base = List.copyOf(base);
        candidate = List.copyOf(candidate);
        if (fdt < 0 || fdt > base.size()) {
            throw new IllegalArgumentException("FDT must be in [0, " + base.size() + "], got " + fdt);
        }
    }
}
