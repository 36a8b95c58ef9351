package dtm.scan;

import dtm.metrics.EvaluationResult;
import dtm.metrics.Reference;
import dtm.metrics.Statistics;
import dtm.model.Model;
import dtm.model.Session;
import dtm.model.SessionOptions;
import dtm.model.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * The text samples the report shows for a plan (docs/report.md): a few prompts with the base's
 * continuation and the candidate's own greedy one side by side, picked from the candidate's
 * evaluation so that they show what its FDT figures count: the sample that diverges earliest,
 * the sample at FDT_75 and the sample at the median FDT.
 */
public final class PlanSamples {
    /** Samples shown per plan. */
    public static final int COUNT = 3;

    private PlanSamples() {}

    /**
     * Picks up to {@code count} samples of {@code evaluation} (the candidate against
     * {@code reference}) and writes out their text.
     *
     * @param candidate  the candidate evaluated
     * @param reference  the reference it was evaluated against
     * @param evaluation its evaluation (per-sample FDT)
     * @param session    how to run the candidate's greedy continuations
     */
    public static List<TextSample> of(Model candidate, Reference reference, EvaluationResult evaluation,
                                      SessionOptions session, int count) {
        Objects.requireNonNull(candidate, "candidate");
        Objects.requireNonNull(reference, "reference");
        Objects.requireNonNull(evaluation, "evaluation");
        if (count < 0) {
            throw new IllegalArgumentException("sample count must be >= 0, got " + count);
        }
        int[] fdt = evaluation.fdt();
        List<Pick> picks = pick(fdt, count);
        if (picks.isEmpty()) {
            return List.of();
        }
        int[][] prompts = picks.stream().map(p -> reference.prompts().prompt(p.sample)).toArray(int[][]::new);
        int[][] generated;
        try (Session s = candidate.newSession(session)) {
            generated = s.generate(prompts, reference.settings().options().n(),
                    reference.settings().options().stopAtEos());
        }
        Tokenizer tokenizer = candidate.tokenizer();
        List<TextSample> out = new ArrayList<>();
        for (int i = 0; i < picks.size(); i++) {
            Pick p = picks.get(i);
            int[] prompt = prompts[i];
            int[] afterBos = prompt.length > 0 && prompt[0] == tokenizer.bos()
                    ? Arrays.copyOfRange(prompt, 1, prompt.length) : prompt;
            out.add(new TextSample(p.label, p.sample, fdt[p.sample], tokenizer.decode(afterBos),
                    pieces(tokenizer, prompt, reference.continuation(p.sample)), pieces(tokenizer, prompt, generated[i])));
        }
        return out;
    }

    /** A sample picked, and why. */
    record Pick(String label, int sample) {}

    /**
     * The earliest divergence, the sample at FDT_75 and at the median FDT (each the lowest index
     * with that FDT), without repeats; filled up with the lowest indices not yet picked.
     */
    static List<Pick> pick(int[] fdt, int count) {
        List<Pick> picks = new ArrayList<>();
        if (fdt.length == 0 || count == 0) {
            return picks;
        }
        Integer earliest = IntStream.range(0, fdt.length).boxed()
                .min(Comparator.<Integer>comparingInt(s -> fdt[s]).thenComparingInt(s -> s)).orElseThrow();
        addIfNew(picks, new Pick("the earliest divergence", earliest), count);
        addIfNew(picks, new Pick("the sample at FDT_75", firstWith(fdt, Statistics.fdtQ(fdt, 75))), count);
        addIfNew(picks, new Pick("the sample at the median FDT", firstWith(fdt, Statistics.fdtQ(fdt, 50))),
                count);
        for (int s = 0; s < fdt.length && picks.size() < count; s++) {
            addIfNew(picks, new Pick("sample " + s, s), count);
        }
        return picks;
    }

    private static void addIfNew(List<Pick> picks, Pick p, int count) {
        if (picks.size() < count && picks.stream().noneMatch(q -> q.sample == p.sample)) {
            picks.add(p);
        }
    }

    private static int firstWith(int[] fdt, int value) {
        return IntStream.range(0, fdt.length).filter(s -> fdt[s] == value).findFirst().orElseThrow();
    }

    /**
     * The text of each continuation token as it reads after the prompt: the bytes each token adds
     * to the decoded prompt + continuation (so a word's leading space and byte tokens come out as
     * the detokenizer writes them). A character whose UTF-8 bytes are split over several byte
     * tokens goes whole to the token that completes it (the earlier ones get ""), so the pieces
     * join to the decoded continuation. Where the detokenizer rewrites text it already wrote
     * (it does not for the tokenizers dtm reads), that token's piece is its text alone.
     */
    private static List<String> pieces(Tokenizer tokenizer, int[] prompt, int[] continuation) {
        int[] all = Arrays.copyOf(prompt, prompt.length + continuation.length);
        System.arraycopy(continuation, 0, all, prompt.length, continuation.length);
        List<String> out = new ArrayList<>(continuation.length);
        byte[] before = tokenizer.decodeBytes(prompt);
        int given = before.length;  // bytes of the decoded text handed out so far
        for (int i = 1; i <= continuation.length; i++) {
            byte[] now = tokenizer.decodeBytes(Arrays.copyOf(all, prompt.length + i));
            if (now.length < before.length || !Arrays.equals(now, 0, before.length, before, 0, before.length)) {
                out.add(tokenizer.decode(new int[] {continuation[i - 1]}));
                given = now.length;
            } else {
                int end = i == continuation.length ? now.length : completeUtf8End(now, given);
                out.add(new String(now, given, end - given, StandardCharsets.UTF_8));
                given = end;
            }
            before = now;
        }
        return out;
    }

    /**
     * The end of the last whole UTF-8 character of {@code bytes} from {@code from} on: its length,
     * or the start of a trailing multi-byte sequence that is not complete yet.
     */
    static int completeUtf8End(byte[] bytes, int from) {
        for (int i = bytes.length - 1; i >= Math.max(from, bytes.length - 4); i--) {
            int b = bytes[i] & 0xff;
            if ((b & 0xc0) == 0x80) {
                continue;  // a continuation byte: look further back for the lead byte
            }
            int need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
            return bytes.length - i >= need ? bytes.length : i;
        }
        return bytes.length;
    }
}
