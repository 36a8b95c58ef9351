package dtm.scan;

import dtm.compress.Plan;
import dtm.metrics.EvaluationOptions;
import dtm.metrics.EvaluationResult;
import dtm.metrics.LayerInputCache;
import dtm.metrics.Progress;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.metrics.TextPerplexity;
import dtm.model.Calibration;
import dtm.model.Compression;
import dtm.model.Model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The plan searches' measurements done with the native engine: every candidate is built from
 * the base ({@link Plan#apply}, {@link Model#compress}). A pruning step's measurements
 * ({@link #measure(Plan)}, {@link #measure(Plan, String, double)}) are made against the
 * <em>current</em> model's own reference, its greedy continuations of the same prompts (the
 * paper's fdt(m, sparse(m, c, ·)), DESIGN.md §3): the base's reference in step 1, a reference
 * generated once for each later step's starting model. Whole plans ({@link #evaluate}) are
 * evaluated against the base's reference, like every baseline.
 *
 * <p>What makes a search affordable:
 * <ul>
 *   <li>A measurement of one component pruned on top of the empty plan is a scan cell; when the
 *       scan has it, it is read from there (the same candidate, bitwise the same result).</li>
 *   <li>Every measurement is remembered, so the FDT-guided search and its perplexity-guided
 *       baseline pay once for the candidates they share.</li>
 *   <li>For {@link #measure(Plan, String, double)} the current plan's candidate is built once;
 *       each component is pruned further on that candidate (the same weights as applying the
 *       longer chain to the base), and with cached layer inputs its evaluation starts at the
 *       component's layer from the current candidate's residual stream (DESIGN.md §3).</li>
 * </ul>
 * Close it: it holds the current candidate, its reference and its layer inputs.
 */
public final class EngineEvaluator implements CellEvaluator, PlanEvaluator, AutoCloseable {
    private final Model base;
    private final Reference reference;
    private final Calibration calibration;
    private final ScanResult scan;
    private final List<String> scanned;
    private final boolean cacheLayerInputs;
    private final RunOptions run;
    private final EvaluationOptions evaluation;
    private final Map<String, CellMeasurement> measured = new HashMap<>();
    private final CellRunner runner;
    /** Prefixes of the remembered measurements: against the current model's own reference, or the base's. */
    private static final String OWN = "own\n";
    private static final String BASE = "base\n";

    private String currentKey;
    private Model current;
    /** The current candidate's own reference (its greedy continuations); the base's for the empty plan. */
    private Reference currentReference;
    private LayerInputCache cache;
    private int evaluations;
    private int referencesGenerated;

    /**
     * @param base             the base model; stays open while this is used
     * @param reference        the base's reference
     * @param calibration      for plans with Wanda; may be null
     * @param scan             a scan of this base and reference whose cells may stand in for
     *                         measurements; may be null
     * @param scanned          the components whose parameter-weighted sparsity and int8 share a
     *                         {@link PlanOutcome} reports
     * @param cacheLayerInputs start single-component measurements at the component's layer
     * @param run              sessions and chunking (progress is not reported per evaluation)
     * @param runner           where the batches of {@link #measureAll} and {@link #evaluateAll}
     *                         run: {@link CellRunner#LOCAL} (here, one after another, reusing the
     *                         current candidate) or a cluster's runner (side by side as tasks;
     *                         plans with Wanda stay here)
     */
    public EngineEvaluator(Model base, Reference reference, Calibration calibration, ScanResult scan,
                           List<String> scanned, boolean cacheLayerInputs, RunOptions run, CellRunner runner) {
        this.runner = Objects.requireNonNull(runner, "runner");
        this.base = Objects.requireNonNull(base, "base");
        this.reference = Objects.requireNonNull(reference, "reference");
        this.calibration = calibration;
        this.scan = scan;
        this.scanned = List.copyOf(scanned);
        this.cacheLayerInputs = cacheLayerInputs;
        this.run = Objects.requireNonNull(run, "run").withProgress(Progress.NONE);
        this.evaluation = EvaluationOptions.defaults().withRun(this.run);
        reference.requireBase(base);
    }

    /** The evaluator that runs everything in this process. */
    public EngineEvaluator(Model base, Reference reference, Calibration calibration, ScanResult scan,
                           List<String> scanned, boolean cacheLayerInputs, RunOptions run) {
        this(base, reference, calibration, scan, scanned, cacheLayerInputs, run, CellRunner.LOCAL);
    }

    /** How many candidates this evaluator has evaluated with the engine (not read from the scan or remembered). */
    public int evaluations() {
        return evaluations;
    }

    /** How many references of current candidates this evaluator generated (one per pruning step after the first). */
    public int referencesGenerated() {
        return referencesGenerated;
    }

    /** The candidate of {@code plan} against its own reference (FDT = N by the laws; its perplexity of y). */
    @Override
    public CellMeasurement measure(Plan plan) {
        String key = OWN + keyOf(plan);
        CellMeasurement known = measured.get(key);
        if (known != null) {
            return known;
        }
        // The plan is (in the pruning search) the current plan that components are measured on next.
        useCurrent(plan, keyOf(plan));
        CellMeasurement m = measurementOf(evaluate(current, currentReference, null));
        measured.put(key, m);
        return m;
    }

    @Override
    public CellMeasurement measure(Plan currentPlan, String component, double totalSparsity) {
        String planKey = keyOf(currentPlan);
        String key = probeKey(planKey, component, Compression.magnitude(totalSparsity).toString());
        CellMeasurement known = known(key, currentPlan, component, totalSparsity);
        if (known != null) {
            return known;
        }
        int index = indexOf(component);
        useCurrent(currentPlan, planKey);
        LayerInputCache inputs = cacheLayerInputs
                ? layerInputs(Scan.layerOf(base.components().get(index), base.config().layers())) : null;
        CellMeasurement m;
        try (Model candidate = current.compress(Map.of(index, Compression.magnitude(totalSparsity)), calibration,
                threads())) {
            m = measurementOf(evaluate(candidate, currentReference, inputs));
        }
        measured.put(key, m);
        return m;
    }

    /**
     * The probes of one step: in this process one after another ({@link #measure(Plan, String,
     * double)}); on a cluster those not known yet as one batch of cells on top of {@code current},
     * one task per layer.
     */
    @Override
    public List<CellMeasurement> measureAll(Plan currentPlan, List<Probe> probes) {
        if (runsInThisProcess() || currentPlan.needsCalibration() || currentPlan.recovered() != null) {
            return CellEvaluator.super.measureAll(currentPlan, probes);
        }
        String planKey = keyOf(currentPlan);
        Map<Integer, List<LayerCells.Cell>> byLayer = new java.util.TreeMap<>();
        for (Probe p : probes) {
            String key = probeKey(planKey, p.component(), Compression.magnitude(p.totalSparsity()).toString());
            if (known(key, currentPlan, p.component(), p.totalSparsity()) != null) {
                continue;
            }
            int index = indexOf(p.component());
            LayerCells.Cell cell = new LayerCells.Cell(index, Compression.magnitude(p.totalSparsity()));
            List<LayerCells.Cell> layer = byLayer.computeIfAbsent(
                    Scan.layerOf(base.components().get(index), base.config().layers()), l -> new ArrayList<>());
            if (!layer.contains(cell)) {
                layer.add(cell);
            }
        }
        if (!byLayer.isEmpty()) {
            List<LayerCells> layers = new ArrayList<>();
            byLayer.forEach((layer, cells) -> layers.add(new LayerCells(layer, cells)));
            useCurrent(currentPlan, planKey);  // the current model's own reference, made here
            ScanWork work = new ScanWork(base, currentReference, layers, cacheLayerInputs, run,
                    currentPlan.entries().isEmpty() ? null : currentPlan);
            runner.run(work, cell -> {
                evaluations++;
                measured.put(probeKey(planKey, cell.component(), cell.setting()), measurementOf(cell));
            });
        }
        List<CellMeasurement> out = new ArrayList<>();
        for (Probe p : probes) {
            out.add(Objects.requireNonNull(measured.get(probeKey(planKey, p.component(),
                    Compression.magnitude(p.totalSparsity()).toString())), "no measurement came back for " + p));
        }
        return out;
    }

    /**
     * The plans: in this process one after another ({@link #evaluate}); on a cluster side by
     * side, one task each (those with Wanda here).
     */
    @Override
    public List<PlanOutcome> evaluateAll(List<String> names, List<Plan> plans) {
        if (runsInThisProcess() || plans.stream().anyMatch(p -> p.needsCalibration() || p.recovered() != null)) {
            return PlanEvaluator.super.evaluateAll(names, plans);
        }
        if (names.size() != plans.size()) {
            throw new IllegalArgumentException(names.size() + " names for " + plans.size() + " plans");
        }
        List<PlanScores> scores = runner.evaluate(new PlanWork(base, reference, plans, scanned, run));
        List<PlanOutcome> out = new ArrayList<>();
        for (int i = 0; i < plans.size(); i++) {
            evaluations++;
            PlanOutcome o = scores.get(i).outcome(names.get(i), plans.get(i));
            measured.putIfAbsent(BASE + keyOf(plans.get(i)), scores.get(i).measurement());
            out.add(o);
        }
        return out;
    }

    @Override
    public int slots() {
        return runner.slots();
    }

    /** Whether the batches run in this process (the local runner) rather than as cluster tasks. */
    public boolean runsInThisProcess() {
        return runner == CellRunner.LOCAL;
    }

    @Override
    public PlanOutcome evaluate(String name, Plan plan) {
        try (Model candidate = plan.apply(base, calibration, threads())) {
            EvaluationResult r = evaluate(candidate, reference, null);
            measured.putIfAbsent(BASE + keyOf(plan), measurementOf(r));
            return PlanScores.of(candidate, r, scanned).outcome(name, plan);
        }
    }

    /**
     * {@code outcome} with its text perplexity measured: the plan's candidate on {@code tokens}
     * (a text tokenized with BOS by the base's tokenizer) in llama.cpp's convention (windows of
     * the model's context), over its first {@code windows} windows (0 = all).
     */
    public PlanOutcome withTextPerplexity(PlanOutcome outcome, int[] tokens, int windows) {
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(tokens, "tokens");
        try (Model candidate = outcome.plan().apply(base, calibration, threads())) {
            return outcome.withTextPerplexity(TextPerplexity.of(candidate, tokens, 0, windows, run).perplexity());
        }
    }

    /**
     * Text samples of {@code outcome}'s candidate ({@link PlanSamples}): evaluated once more
     * against the base's reference for its per-sample FDT (not counted among the searches'
     * {@link #evaluations()}), then the picked prompts continued greedily.
     */
    public List<TextSample> samples(PlanOutcome outcome, int count) {
        Objects.requireNonNull(outcome, "outcome");
        try (Model candidate = outcome.plan().apply(base, calibration, threads())) {
            EvaluationResult r = reference.evaluate(candidate, evaluation, null);
            return PlanSamples.of(candidate, reference, r, run.session(), count);
        }
    }

    @Override
    public void close() {
        dropCurrent();
    }

    private EvaluationResult evaluate(Model candidate, Reference against, LayerInputCache inputs) {
        evaluations++;
        return against.evaluate(candidate, evaluation, inputs);
    }

    private static CellMeasurement measurementOf(EvaluationResult r) {
        return new CellMeasurement(r.fdtQ(75), r.aggregates().tokenPerplexity());
    }

    private static CellMeasurement measurementOf(ScanCell cell) {
        return new CellMeasurement(cell.fdt75(), cell.aggregates().tokenPerplexity());
    }

    /** The key under which a probe on top of the plan keyed {@code planKey} is remembered. */
    private static String probeKey(String planKey, String component, String setting) {
        return OWN + planKey + "\n+" + component + "=" + setting;
    }

    /**
     * What is known of a probe without evaluating it: remembered under {@code key}, or (on top of
     * the empty plan) the scan's cell of the same candidate, which is then remembered; else null.
     */
    private CellMeasurement known(String key, Plan currentPlan, String component, double totalSparsity) {
        CellMeasurement m = measured.get(key);
        if (m == null && scan != null && currentPlan.entries().isEmpty() && currentPlan.recovered() == null) {
            ScanCell cell = scanCell(component, totalSparsity);
            if (cell != null) {
                m = measurementOf(cell);
                measured.put(key, m);
            }
        }
        return m;
    }

    /** Makes {@link #current} the candidate of {@code plan}, dropping the old one and its layer inputs. */
    private void useCurrent(Plan plan, String key) {
        if (key.equals(currentKey)) {
            return;
        }
        dropCurrent();
        current = plan.apply(base, calibration, threads());
        currentKey = key;
        if (plan.entries().isEmpty() && plan.recovered() == null) {
            currentReference = reference;
        } else {
            // The model a pruning step starts from is measured against its own continuations
            // (DESIGN.md §3: the paper's fdt(m, sparse(m, c, ·)), whose knot at 0 is N).
            currentReference = Reference.generate(current, reference.prompts(), reference.settings().options(), run);
            referencesGenerated++;
        }
    }

    private void dropCurrent() {
        if (cache != null) {
            cache.close();
            cache = null;
        }
        if (current != null) {
            current.close();
            current = null;
        }
        currentReference = null;
        currentKey = null;
    }

    /**
     * The current candidate's residual stream entering {@code layer}: advanced from the layer
     * held (so measuring components in layer order costs one pass in all), or captured afresh
     * when asked for an earlier layer.
     */
    private LayerInputCache layerInputs(int layer) {
        if (cache != null && cache.layer() == layer) {
            return cache;
        }
        LayerInputCache from = cache != null && cache.layer() < layer ? cache : null;
        LayerInputCache next = currentReference.captureLayerInputs(current, layer, from, run);
        if (cache != null) {
            cache.close();
        }
        cache = next;
        return cache;
    }

    /**
     * The scan's cell of {@code component} pruned by magnitude to {@code sparsity}, or null. The
     * search computes its sparsities (3t/2 of t = 0.2 is 0.30000000000000004), so a setting
     * within 1e-9 counts: the engine takes the sparsity as a float, the same for both.
     */
    private ScanCell scanCell(String component, double sparsity) {
        for (String setting : scan.settings()) {
            Compression c = Compression.parse(setting);
            if (c.kind() == Compression.Kind.MAGNITUDE && Math.abs(c.sparsity() - sparsity) < 1e-9) {
                return scan.cell(component, setting);
            }
        }
        return null;
    }

    /** The index of a component named exactly (a plain name matches itself; an unknown one is refused listing them). */
    private int indexOf(String component) {
        return base.findComponents(component)[0];
    }

    private int threads() {
        return run.session().threads();
    }

    /**
     * What a plan does, without its description and evidence: equal keys make the same candidate.
     * Trained weights are named by their file (each recovery step writes a file of its own).
     */
    private static String keyOf(Plan plan) {
        StringBuilder b = new StringBuilder();
        if (plan.recovered() != null) {
            b.append("weights ").append(plan.recovered().weights().toAbsolutePath()).append('\n');
        }
        for (Plan.Entry e : plan.entries()) {
            b.append(e.match()).append('=').append(e.compressions()).append('\n');
        }
        return b.toString();
    }
}
