package dtm.scan;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.compress.Plan;
import dtm.metrics.Progress;
import dtm.model.Model;
import dtm.recovery.RecoveryOptions;
import dtm.recovery.RecoveryTrainer;
import dtm.recovery.TrainingRun;
import dtm.recovery.TrainingSet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Recovery training of every pruning step with a {@link RecoveryTrainer} (DESIGN.md §3,
 * docs/recovery.md): the step's candidate is built from the base, its trainable components are
 * trained to the base's next-token distributions on the training set, and the trained matrices
 * are written as a candidate file ({@code <dir>/<plan>-step<k>.safetensors}, fingerprinted to the
 * base), which the next step's plan names. A plan's file of the previous step is deleted once the
 * next is written, so the files left are the finished plans'.
 */
public final class TrainedSteps implements StepRecovery {
    private final Model base;
    private final RecoveryTrainer trainer;
    private final TrainingSet data;
    private final RecoveryOptions options;
    private final List<Integer> trainable;
    private final Path dir;
    private final int threads;
    private final Progress progress;
    private final Map<String, List<TrainingRun>> runs = new LinkedHashMap<>();
    private final Map<String, Path> lastFile = new LinkedHashMap<>();

    /**
     * @param trainable the component indices to train (the searched components)
     * @param dir       where the trained weights go (created if needed)
     * @param threads   engine threads for building candidates
     */
    public TrainedSteps(Model base, RecoveryTrainer trainer, TrainingSet data, RecoveryOptions options,
                        List<Integer> trainable, Path dir, int threads, Progress progress) {
        this.base = Objects.requireNonNull(base, "base");
        this.trainer = Objects.requireNonNull(trainer, "trainer");
        this.data = Objects.requireNonNull(data, "data");
        this.options = Objects.requireNonNull(options, "options");
        this.trainable = List.copyOf(trainable);
        this.dir = Objects.requireNonNull(dir, "dir");
        this.threads = threads;
        this.progress = Objects.requireNonNull(progress, "progress");
        if (!options.enabled()) {
            throw new IllegalArgumentException("recovery training needs a token budget above 0");
        }
    }

    /**
     * @throws IllegalStateException {@code step} is not the next step of {@code planName}: one
     *                               TrainedSteps trains one search of each plan, step after step
     *                               (a second search would overwrite the first one's files)
     */
    @Override
    public Plan recover(Plan pruned, String planName, int step) {
        int done = runs.getOrDefault(planName, List.of()).size();
        if (step != done + 1) {
            throw new IllegalStateException("recovery of " + planName + " step " + step + " after " + done
                    + " step(s): a TrainedSteps trains one search, step after step");
        }
        Path file = dir.resolve(slug(planName) + "-step" + step + ".safetensors");
        String task = String.format(Locale.ROOT, "recovery %s step %d", planName, step);
        TrainingRun run;
        try (Model candidate = pruned.apply(base, null, threads);
             RecoveryTrainer.Trained trained = trainer.train(base, candidate, trainable, data, options.forStep(step),
                     progress, task)) {
            Files.createDirectories(dir);
            trained.model().exportCandidate(file, base);
            run = trained.run();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the trained weights to " + file + ": " + e.getMessage(), e);
        }
        Path previous = lastFile.put(planName, file);
        if (previous != null && !previous.equals(file)) {
            try {
                Files.deleteIfExists(previous);
            } catch (IOException e) {
                // A stale intermediate file is harmless; the plan names the new one.
            }
        }
        runs.computeIfAbsent(planName, k -> new ArrayList<>()).add(run);
        return pruned.withRecovered(new Plan.Recovered(file, record(planName)));
    }

    /** Per plan name, each step's training, in order. */
    public Map<String, List<TrainingRun>> runs() {
        Map<String, List<TrainingRun>> out = new LinkedHashMap<>();
        runs.forEach((k, v) -> out.put(k, List.copyOf(v)));
        return Collections.unmodifiableMap(out);
    }

    /** What a recovered plan records of its training (docs/json-schema.md, "recovered"). */
    private ObjectNode record(String planName) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("objective", "KL(base || candidate) on full next-token distributions, masked (pruned weights stay 0)");
        o.put("trainer", trainer.getClass().getName());
        o.put("tokensPerStep", options.tokensPerStep());
        ObjectNode opt = o.putObject("optimizer");
        opt.put("name", "AdamW");
        opt.put("learningRate", options.learningRate());
        opt.put("schedule", "linear warm-up, cosine decay to 0");
        opt.put("warmupShare", options.warmupShare());
        opt.put("weightDecay", options.weightDecay());
        opt.put("batchSequences", options.batchSequences());
        opt.put("seed", options.seed());
        opt.put("batchOrderSeed", "seed + step - 1");
        opt.put("threads", options.threads() > 0 ? options.threads() : Runtime.getRuntime().availableProcessors());
        ArrayNode components = o.putArray("trainedComponents");
        for (int c : trainable) {
            components.add(base.components().get(c).name());
        }
        o.set("trainingPrompts", data.toJson());
        ArrayNode steps = o.putArray("steps");
        List<TrainingRun> done = runs.getOrDefault(planName, List.of());
        for (int i = 0; i < done.size(); i++) {
            TrainingRun r = done.get(i);
            ObjectNode s = steps.addObject();
            s.put("step", i + 1);
            s.put("tokens", r.tokens());
            s.put("optimizerSteps", r.optimizerSteps());
            s.put("seconds", r.seconds());
            s.put("tokensPerSecond", r.tokensPerSecond());
            s.put("firstLoss", r.firstLoss());
            s.put("lastLoss", r.lastLoss());
        }
        return o;
    }

    /** "FDT-guided" → "fdt-guided", "uniform magnitude" → "uniform-magnitude". */
    static String slug(String name) {
        return name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
    }
}
