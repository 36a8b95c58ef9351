package dtm.cli;

import dtm.compress.Plan;
import dtm.metrics.PromptSet;
import dtm.model.Calibration;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.ModelOptions;
import dtm.model.Session;
import dtm.model.SessionOptions;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which candidate to measure: another model file, a candidate file exported by
 * {@code dtm compress}, or the base compressed by a plan or by inline {@code --compress} rules.
 */
final class CandidateSelection {
    @Option(names = "--candidate", paramLabel = "PATH",
            description = {"The model to measure: a model file of the base's architecture and tokenizer, or a "
                    + "candidate file (.safetensors) written by 'dtm compress' from this base.",
                    "Default: the base itself (or the base compressed by --plan / --compress)."})
    Path candidate;

    @Option(names = "--candidate-tokenizer", paramLabel = "PATH",
            description = "The candidate model file's tokenizer (default: tokenizer.bin beside it).")
    Path candidateTokenizer;

    @Option(names = "--plan", paramLabel = "FILE.json",
            description = "Compress the base by this plan (schema dtm.plan/1, see docs/json-schema.md).")
    Path plan;

    @Option(names = "--compress", paramLabel = "PATTERN=SPEC",
            description = {"Compress the components matching PATTERN by SPEC; repeatable, applied after --plan, "
                    + "later rules override earlier ones. PATTERN: a component name, '*' and '?' wildcards, "
                    + "'[a-b]' layer ranges. SPEC: magnitude:S, wanda:S, N:M, int8, int8-outlier[:T], "
                    + "int8-weight, q8_0, q4_0.",
                    "Example: --compress 'model.layers.*=int8' --compress '*.mlp.down_proj=int8-outlier'"})
    List<String> compress = new ArrayList<>();

    @Option(names = "--calibration-count", paramLabel = "COUNT", defaultValue = "64",
            description = "Wanda only: calibration windows of 128 tokens from the prompt text, chosen with "
                    + "another seed than the prompts (default: ${DEFAULT-VALUE}).")
    int calibrationCount;

    /** Whether a plan or inline rules compress the base. */
    boolean compresses() {
        return plan != null || !compress.isEmpty();
    }

    /** {@link #plan()} once made: the plan file is read once per command. */
    private Plan made;

    /** The plan that --plan and --compress make together (null when neither is given). */
    Plan plan() {
        if (made == null && compresses()) {
            made = makePlan();
        }
        return made;
    }

    private Plan makePlan() {
        List<Plan.Entry> entries = new ArrayList<>();
        String description = "";
        String planBase = null;
        Plan.Recovered recovered = null;
        if (plan != null) {
            Plan p = Plan.read(plan);
            entries.addAll(p.entries());
            description = p.description();
            planBase = p.base();
            recovered = p.recovered();
        }
        for (String rule : compress) {
            int eq = rule.lastIndexOf('=');
            if (eq <= 0 || eq == rule.length() - 1) {
                throw new IllegalArgumentException("--compress needs PATTERN=SPEC, e.g. 'model.layers.*=int8', got '"
                        + rule + "'");
            }
            entries.add(new Plan.Entry(rule.substring(0, eq).trim(), Compression.parse(rule.substring(eq + 1))));
        }
        if (description.isEmpty()) {
            description = String.join(" ", compress);
        }
        return new Plan(description, entries, planBase, recovered);
    }

    /**
     * Refuses to evaluate a plan with trained weights on prompts it was trained on (the split its
     * recovery training recorded).
     *
     * @throws dtm.errors.InvalidPromptSetException some evaluation prompts were training prompts
     */
    void requireNotTrainedOn(dtm.metrics.PromptSet evaluation) {
        Plan p = plan();
        if (p != null && p.recovered() != null) {
            dtm.recovery.TrainingSet.requireDisjoint(p.recovered().training(), evaluation);
        }
    }

    /** A short description of the candidate for tables. */
    String describe(Model base) {
        if (candidate != null && !compresses()) {
            return candidate.toString();
        }
        Plan p = plan();
        String of = candidate != null ? candidate.toString() : base.path().toString();
        return p == null ? of + " (the base itself)" : of + " compressed by " + (plan != null ? plan + " " : "")
                + String.join(" ", compress);
    }

    /**
     * Opens the candidate; the caller closes it. {@code promptOptions} chooses the calibration
     * text when a plan uses Wanda; {@code finiteCheck} whether a candidate model file's weights
     * are checked for NaN and infinity.
     */
    Model open(Model base, PromptOptions promptOptions, SessionOptions session, FiniteCheckOption finiteCheck)
            throws IOException {
        Model start;
        if (candidate == null) {
            start = null;
        } else if (Files.isRegularFile(candidate)
                && candidate.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".safetensors")) {
            start = base.loadCandidate(candidate);
        } else {
            start = Model.load(candidate,
                    finiteCheck.apply(ModelOptions.defaults().withTokenizer(candidateTokenizer)));
        }
        Plan p = plan();
        if (p == null) {
            return start != null ? start : base.compress(java.util.Map.of(), null, session.threads());
        }
        Model from = start != null ? start : base;
        try {
            p.checkBase(from, "the plan " + plan);
            if (!p.needsCalibration()) {
                return p.apply(from, null, session.threads());
            }
            try (Calibration calibration = calibrate(from, promptOptions, session)) {
                return p.apply(from, calibration, session.threads());
            }
        } finally {
            if (start != null) {
                start.close();
            }
        }
    }

    /**
     * Opens the candidate of a command without prompt options; Wanda's calibration then comes from
     * the default prompt text, as {@code dtm eval}'s does without --text; {@code finiteCheck}
     * says whether a candidate model file's weights are checked for NaN and infinity.
     */
    Model open(Model base, SessionOptions session, FiniteCheckOption finiteCheck) throws IOException {
        return open(base, CommandLine.populateCommand(new PromptOptions()), session, finiteCheck);
    }

    private Calibration calibrate(Model model, PromptOptions promptOptions, SessionOptions session)
            throws IOException {
        return calibrate(model, promptOptions, session, calibrationCount);
    }

    /**
     * Wanda's calibration pass: {@code count} windows of 128 tokens (at most the context) cut
     * from the prompt text with another seed than the prompts'.
     */
    static Calibration calibrate(Model model, PromptOptions promptOptions, SessionOptions session, int count)
            throws IOException {
        if (count < 1) {
            throw new IllegalArgumentException("--calibration-count must be >= 1, got " + count);
        }
        int tokens = Math.min(128, model.config().maxSeqLen());
        PromptSet set = promptOptions.chunks(model, tokens, count, promptOptions.seed ^ 0x5DEECE66DL);
        try (Session s = model.newSession(session)) {
            return s.calibrate(set.prompts());
        }
    }
}
