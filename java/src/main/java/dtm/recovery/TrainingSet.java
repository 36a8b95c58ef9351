package dtm.recovery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.errors.InvalidPromptSetException;
import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.metrics.ReferenceOptions;
import dtm.metrics.RunOptions;
import dtm.model.Model;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What recovery training distils on: sequences the base itself writes (its greedy continuation
 * of N tokens after each prompt), from prompts disjoint from the evaluation prompts (DESIGN.md
 * §3). Every position of a sequence (prompt and continuation) is a term of the loss: the base's
 * whole next-token distribution there against the candidate's.
 *
 * <p>The split is recorded ({@link #toJson}) and checked: {@link #requireDisjoint} refuses an
 * evaluation whose prompts include a training prompt, so a trained plan is never scored on what
 * it was trained on.
 *
 * @param description   where the training prompts come from (source, prompt length, seed)
 * @param promptHashes  per training prompt the first 16 hex digits of SHA-256 over its token ids
 * @param sequences     prompt ⊕ the base's continuation, all of one length
 */
public record TrainingSet(String description, List<String> promptHashes, List<int[]> sequences) {
    public TrainingSet {
        Objects.requireNonNull(description, "description");
        promptHashes = List.copyOf(promptHashes);
        List<int[]> copies = new ArrayList<>(sequences.size());
        for (int[] s : sequences) {
            copies.add(s.clone());
        }
        sequences = List.copyOf(copies);
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("a training set needs at least one sequence");
        }
        int length = sequences.get(0).length;
        for (int[] s : sequences) {
            if (s.length != length) {
                throw new IllegalArgumentException("training sequences must have one length, got " + length + " and "
                        + s.length);
            }
        }
    }

    /** Tokens per sequence. */
    public int sequenceLength() {
        return sequences.get(0).length;
    }

    /** Sequence {@code i} (a copy). */
    public int[] sequence(int i) {
        return sequences.get(i).clone();
    }

    /**
     * The training set: of {@code pool} (prompts drawn like the evaluation's, with another seed),
     * the first {@code count} that are not evaluation prompts, each continued greedily by the
     * base for {@code n} tokens (no stop at EOS, so every sequence has one length).
     *
     * @throws InvalidPromptSetException fewer than {@code count} pool prompts are disjoint from
     *                                   the evaluation's, or the prompts differ in length
     */
    public static TrainingSet of(Model base, PromptSet pool, PromptSet evaluation, int count, int n, RunOptions run) {
        return of(base, pool, evaluation, null, count, n, run);
    }

    /**
     * {@link #of(Model, PromptSet, PromptSet, int, int, RunOptions)} that also leaves out every
     * pool prompt whose text (its tokens after BOS) occurs in {@code heldOut}: the ground-truth
     * tokens another measurement scores (the text perplexity's windows), so that the trained
     * model is not scored on text it was trained on. {@code heldOut} may be null.
     */
    public static TrainingSet of(Model base, PromptSet pool, PromptSet evaluation, int[] heldOut, int count, int n,
                                 RunOptions run) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(evaluation, "evaluation");
        if (count < 1) {
            throw new IllegalArgumentException("training prompts must be at least 1, got " + count);
        }
        Set<String> evaluated = hashesOf(evaluation);
        List<int[]> kept = new ArrayList<>();
        int inHeldOut = 0;
        for (int[] p : pool.prompts()) {
            if (kept.size() == count || evaluated.contains(hash(p))) {
                continue;
            }
            if (heldOut != null && occursIn(p, heldOut)) {
                inHeldOut++;
                continue;
            }
            kept.add(p);
        }
        if (kept.size() < count) {
            throw new InvalidPromptSetException("only " + kept.size() + " of " + pool.size() + " training prompts ("
                    + pool.settings().describe() + ") are neither evaluation prompts nor in the held-out text ("
                    + inHeldOut + " were), " + count + " are needed: ask for fewer training prompts or draw them "
                    + "from another text");
        }
        int length = kept.get(0).length;
        for (int[] p : kept) {
            if (p.length != length) {
                throw new InvalidPromptSetException("training prompts must have one length (got " + length + " and "
                        + p.length + " tokens): cut them from a text");
            }
        }
        PromptSet prompts = PromptSet.ofTokens(base, kept);
        Reference written = Reference.generate(base, prompts, new ReferenceOptions(n, 0, false), run);
        List<int[]> sequences = new ArrayList<>();
        List<String> hashes = new ArrayList<>();
        for (int i = 0; i < kept.size(); i++) {
            int[] prompt = kept.get(i);
            int[] cont = written.continuation(i);
            int[] seq = new int[prompt.length + cont.length];
            System.arraycopy(prompt, 0, seq, 0, prompt.length);
            System.arraycopy(cont, 0, seq, prompt.length, cont.length);
            sequences.add(seq);
            hashes.add(hash(prompt));
        }
        String description = count + " prompts of " + (length - 1) + " tokens + BOS cut from " + pool.settings().name()
                + " (chosen with seed " + pool.settings().seed() + "), none of them an evaluation prompt"
                + (heldOut != null ? " or in the text the text perplexity scores" : "") + ", each "
                + "continued greedily by the base for " + n + " tokens";
        TrainingSet set = new TrainingSet(description, hashes, sequences);
        set.requireDisjoint(evaluation);
        return set;
    }

    /**
     * Refuses evaluation prompts that include a training prompt.
     *
     * @throws InvalidPromptSetException some evaluation prompts were trained on
     */
    public void requireDisjoint(PromptSet evaluation) {
        requireDisjoint(Set.copyOf(promptHashes), evaluation);
    }

    /**
     * {@link #requireDisjoint(PromptSet)} against the split a plan recorded ({@link #toJson}); a
     * record without one passes.
     */
    public static void requireDisjoint(JsonNode recorded, PromptSet evaluation) {
        JsonNode list = recorded == null ? null : recorded.path("trainingPrompts").get("hashes");
        if (list == null || !list.isArray()) {
            return;
        }
        Set<String> hashes = new HashSet<>();
        list.forEach(h -> hashes.add(h.asText()));
        requireDisjoint(hashes, evaluation);
    }

    private static void requireDisjoint(Set<String> training, PromptSet evaluation) {
        int overlap = 0;
        int first = -1;
        for (int i = 0; i < evaluation.size(); i++) {
            if (training.contains(hash(evaluation.prompt(i)))) {
                if (first < 0) {
                    first = i;
                }
                overlap++;
            }
        }
        if (overlap > 0) {
            throw new InvalidPromptSetException(overlap + " of the " + evaluation.size() + " evaluation prompts (the "
                    + "first is prompt " + first + ") were recovery training prompts of this plan: evaluate it on "
                    + "prompts it was not trained on (another seed or text)");
        }
    }

    /** The split as a plan records it: the description, the count and the prompts' hashes. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("description", description);
        o.put("count", promptHashes.size());
        o.put("sequenceLength", sequenceLength());
        promptHashes.forEach(o.putArray("hashes")::add);
        return o;
    }

    /** Whether the prompt's tokens after BOS occur contiguously in {@code text}. */
    private static boolean occursIn(int[] prompt, int[] text) {
        int m = prompt.length - 1;
        if (m <= 0 || m > text.length) {
            return false;
        }
        outer:
        for (int at = 0; at + m <= text.length; at++) {
            for (int i = 0; i < m; i++) {
                if (text[at + i] != prompt[i + 1]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static Set<String> hashesOf(PromptSet prompts) {
        Set<String> out = new HashSet<>();
        for (int i = 0; i < prompts.size(); i++) {
            out.add(hash(prompts.prompt(i)));
        }
        return out;
    }

    /** The first 16 hex digits of SHA-256 over the token ids (4 bytes each, big-endian). */
    static String hash(int[] tokens) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            ByteBuffer b = ByteBuffer.allocate(4 * tokens.length);
            for (int t : tokens) {
                b.putInt(t);
            }
            return HexFormat.of().formatHex(sha.digest(b.array())).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
