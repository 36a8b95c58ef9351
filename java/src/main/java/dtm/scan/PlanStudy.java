package dtm.scan;

import dtm.compress.Plan;
import dtm.metrics.Progress;
import dtm.metrics.Reference;
import dtm.model.Calibration;
import dtm.model.Model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The paper's method end to end on one base (DESIGN.md §3): a component scan, then the
 * FDT-guided pruning plan against uniform magnitude and perplexity-guided allocation at the
 * same parameter-weighted sparsity, and the FDT-guided int8 selection against a random order
 * with the same parameter count; every plan evaluated as a whole candidate with the engine
 * ({@link EngineEvaluator}). What {@code dtm plan} runs; {@code dtm scan} is the first part.
 *
 * <p>Progress is reported as task "scan" over the cells, then "plans" over the searches'
 * measurements (an estimate of their number; measurements found in the scan or already made
 * count too), then "text perplexity" over the plans and "text samples" over the plans.
 */
public final class PlanStudy {
    /**
     * What to run.
     *
     * @param scan    the scan; its checkpoint makes a rerun resume
     * @param pruning the pruning search's schedule; null = no pruning plans
     * @param int8    the int8 search; null = no int8 plans
     * @param seed    seed of the random-order int8 baseline
     * @param text    ground truth text for each plan's text perplexity (llama.cpp convention,
     *                windows of the model's context); null = not measured
     * @param textWindows how many windows of {@code text} to score, from its start; 0 = all
     * @param recovery    recovery training after every pruning step of every pruning plan
     *                    ({@link TrainedSteps}); null = none
     */
    public record Options(Scan.Options scan, PruningSearch.Schedule pruning, Int8Search.Options int8, long seed,
                          String text, int textWindows, StepRecovery recovery) {
        public Options {
            Objects.requireNonNull(scan, "scan");
            if (textWindows < 0) {
                throw new IllegalArgumentException("text windows must be >= 0 (0 = all), got " + textWindows);
            }
        }

        /** Without recovery training. */
        public Options(Scan.Options scan, PruningSearch.Schedule pruning, Int8Search.Options int8, long seed,
                       String text, int textWindows) {
            this(scan, pruning, int8, seed, text, textWindows, null);
        }
    }

    /**
     * What the study found.
     *
     * @param scan       the scan
     * @param pruning    the pruning plans, or null when not asked for
     * @param int8       the int8 plans, or null when not asked for
     * @param outcomes   every plan evaluated: the pruning plans (FDT-guided, uniform,
     *                   perplexity-guided), then the int8 plans (FDT-guided, random order)
     * @param samples    per plan (by outcome name, in outcome order), the text samples the report
     *                   shows ({@link PlanSamples})
     * @param baseBytes  bytes of the base's weights ({@link Model#storageBytes()})
     * @param evaluations candidates the plan searches evaluated with the engine (scan cells not
     *                   counted)
     * @param seconds    wall time of the plan searches and their evaluations (the scan's own
     *                   time is in {@code scan})
     */
    public record Result(ScanResult scan, PruningSearch.Comparison pruning, Int8Search.Comparison int8,
                         List<PlanOutcome> outcomes, Map<String, List<TextSample>> samples, long baseBytes,
                         int evaluations, double seconds) {
        public Result {
            Objects.requireNonNull(scan, "scan");
            outcomes = List.copyOf(outcomes);
            samples = Collections.unmodifiableMap(new LinkedHashMap<>(samples));
        }
    }

    private PlanStudy() {}

    /**
     * Runs the scan and the plans.
     *
     * @param base        the base model
     * @param reference   the base's reference
     * @param calibration for Wanda settings; may be null
     */
    public static Result run(Model base, Reference reference, Calibration calibration, Options options) {
        Objects.requireNonNull(options, "options");
        ScanResult scan = Scan.run(base, reference, options.scan());
        long start = System.nanoTime();
        Progress progress = options.scan().run().progress();
        List<PlanComponent> components = PlanComponent.of(scan);
        List<String> names = components.stream().map(PlanComponent::name).toList();
        try (EngineEvaluator engine = new EngineEvaluator(base, reference, calibration, scan, names,
                options.scan().cacheLayerInputs(), options.scan().run(), options.scan().runner())) {
            Counted counted = new Counted(engine, progress, estimate(components.size(), options));
            PruningSearch.Comparison pruning = options.pruning() == null ? null
                    : PruningSearch.compare(components, options.pruning(), scan.n(), counted, counted,
                            options.recovery());
            Int8Search.Comparison int8 = options.int8() == null ? null
                    : Int8Search.compare(scan, options.int8(), options.seed(), counted);
            counted.finish();
            List<PlanOutcome> outcomes = new ArrayList<>();
            if (pruning != null) {
                outcomes.addAll(pruning.outcomes());
            }
            if (int8 != null) {
                outcomes.addAll(int8.outcomes());
            }
            if (options.text() != null) {
                int[] tokens = base.tokenizer().encode(options.text(), true);  // once, for every plan
                for (int i = 0; i < outcomes.size(); i++) {
                    progress.update("text perplexity", i, outcomes.size());
                    outcomes.set(i, engine.withTextPerplexity(outcomes.get(i), tokens,
                            options.textWindows()));
                }
                progress.update("text perplexity", outcomes.size(), outcomes.size());
            }
            Map<String, List<TextSample>> samples = new LinkedHashMap<>();
            for (int i = 0; i < outcomes.size(); i++) {
                progress.update("text samples", i, outcomes.size());
                samples.put(outcomes.get(i).name(), engine.samples(outcomes.get(i), PlanSamples.COUNT));
            }
            progress.update("text samples", outcomes.size(), outcomes.size());
            return new Result(scan, pruning, int8, outcomes, samples, base.storageBytes(), engine.evaluations(),
                    (System.nanoTime() - start) / 1e9);
        }
    }

    /**
     * About how many measurements the searches ask for: per pruning step and driver two per
     * component (+1 for the perplexity driver's starting point), three plans; the int8 search
     * about log₂ of the components (binary) or all of them (linear), two plans.
     */
    private static long estimate(int components, Options options) {
        long n = 0;
        if (options.pruning() != null) {
            int steps = options.pruning().steps().size();
            n += 2L * steps * (2L * components) + steps + 3;
        }
        if (options.int8() != null) {  // the guided and the perplexity-ranked searches, then the random order
            n += 2L * (options.int8().search() == Int8Search.PrefixSearch.LINEAR ? components
                    : 64 - Long.numberOfLeadingZeros(components) + 1);
            n += 1;
        }
        return Math.max(n, 1);
    }

    /** Reports every measurement to the progress bar, then passes it on. */
    private static final class Counted implements CellEvaluator, PlanEvaluator {
        private final EngineEvaluator engine;
        private final Progress progress;
        private final long total;
        private long done;

        Counted(EngineEvaluator engine, Progress progress, long total) {
            this.engine = engine;
            this.progress = progress;
            this.total = total;
            progress.update("plans", 0, total);
        }

        @Override
        public CellMeasurement measure(Plan plan) {
            return step(engine.measure(plan));
        }

        @Override
        public CellMeasurement measure(Plan current, String component, double totalSparsity) {
            return step(engine.measure(current, component, totalSparsity));
        }

        @Override
        public PlanOutcome evaluate(String name, Plan plan) {
            return step(engine.evaluate(name, plan));
        }

        @Override
        public List<CellMeasurement> measureAll(Plan current, List<Probe> probes) {
            if (engine.runsInThisProcess()) {
                return CellEvaluator.super.measureAll(current, probes);  // a progress step per measurement
            }
            List<CellMeasurement> out = engine.measureAll(current, probes);
            out.forEach(this::step);
            return out;
        }

        @Override
        public List<PlanOutcome> evaluateAll(List<String> names, List<Plan> plans) {
            if (engine.runsInThisProcess()) {
                return PlanEvaluator.super.evaluateAll(names, plans);
            }
            List<PlanOutcome> out = engine.evaluateAll(names, plans);
            out.forEach(this::step);
            return out;
        }

        @Override
        public int slots() {
            return engine.slots();
        }

        private <T> T step(T value) {
            done = Math.min(done + 1, total - 1);  // the bar ends in finish(), not before
            progress.update("plans", done, total);
            return value;
        }

        void finish() {
            progress.update("plans", total, total);
        }
    }
}
