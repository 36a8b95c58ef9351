package dtm.scan;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.compress.Plan;
import dtm.model.Compression;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * FDT-guided pruning to a total target sparsity in one or more steps (DESIGN.md §3), and its
 * baselines: uniform magnitude pruning at the same parameter-weighted sparsity, and the same
 * algorithm driven by perplexity.
 *
 * <p>Each step with target added sparsity t measures every component alone on top of the
 * current plan at total sparsity min(s + t/2, 1) and min(s + 3t/2, 1) (s its current sparsity)
 * through a {@link CellEvaluator}, against the reference of the model the step starts from
 * (its own greedy continuations, so each curve's knot at 0 is N, as in the paper), runs
 * {@link SparsityAllocation#compute} and appends to each
 * component that got more sparsity a magnitude pruning to its new total. Algorithm 1 hits each
 * step's target exactly, so after the steps the parameter-weighted mean sparsity is the sum of
 * the step targets.
 *
 * <p>With a {@link StepRecovery}, each step's pruned model is trained before the next step
 * (DESIGN.md §3): the next step measures the trained model (against its own reference) and the
 * finished plan carries the last step's trained weights ({@link Plan.Recovered}). The uniform
 * baseline then takes the same steps (every component pruned to the step's cumulative sparsity,
 * then trained), so that every plan gets the same training budget.
 */
public final class PruningSearch {
    /**
     * How much sparsity each step adds.
     *
     * @param targetSparsity the parameter-weighted mean sparsity to reach, in (0, 1]
     * @param steps          the added sparsity of each step, each in (0, 1], summing to the target
     */
    public record Schedule(double targetSparsity, List<Double> steps) {
        public Schedule {
            steps = List.copyOf(steps);
            if (!(targetSparsity > 0 && targetSparsity <= 1)) {
                throw new IllegalArgumentException("target sparsity must be in (0, 1], got " + targetSparsity);
            }
            if (steps.isEmpty()) {
                throw new IllegalArgumentException("a pruning schedule needs at least one step");
            }
            double sum = 0;
            for (double s : steps) {
                if (!(s > 0 && s <= 1)) {
                    throw new IllegalArgumentException("each step's added sparsity must be in (0, 1], got " + s);
                }
                sum += s;
            }
            if (Math.abs(sum - targetSparsity) > 1e-9) {
                throw new IllegalArgumentException("the steps " + steps + " add up to " + sum + ", not to the target "
                        + targetSparsity);
            }
        }

        /**
         * The most steps a schedule takes: each step evaluates a candidate per component, so even
         * this many is hours of work; more is a mistake, refused before any list is made.
         */
        public static final int MAX_STEPS = 1000;

        /** {@code count} equal steps to {@code targetSparsity}, at most {@link #MAX_STEPS}. */
        public static Schedule equalSteps(double targetSparsity, int count) {
            if (count < 1 || count > MAX_STEPS) {
                throw new IllegalArgumentException("step count must be in [1, " + MAX_STEPS + "], got " + count);
            }
            List<Double> steps = new ArrayList<>();
            double done = 0;
            for (int i = 0; i < count - 1; i++) {
                steps.add(targetSparsity / count);
                done += targetSparsity / count;
            }
            steps.add(targetSparsity - done);
            return new Schedule(targetSparsity, steps);
        }
    }

    /**
     * The pruning plans and their evaluation: the FDT-guided plan first, then uniform magnitude,
     * then perplexity-guided.
     *
     * @param fdtGuided        the FDT-guided search
     * @param uniform          the uniform magnitude plan
     * @param perplexityGuided the perplexity-guided search
     * @param outcomes         the three plans evaluated, in that order
     */
    public record Comparison(PruningResult fdtGuided, Plan uniform, PruningResult perplexityGuided,
                             List<PlanOutcome> outcomes) {
        public Comparison {
            Objects.requireNonNull(fdtGuided, "fdtGuided");
            Objects.requireNonNull(uniform, "uniform");
            Objects.requireNonNull(perplexityGuided, "perplexityGuided");
            outcomes = List.copyOf(outcomes);
        }
    }

    /** What each step's measurements are made against (the evidence's {@code measuredAgainst}). */
    public static final String MEASURED_AGAINST = "the reference of each step's starting model";

    /** The name of the uniform baseline's outcome. */
    public static final String UNIFORM = "uniform magnitude";

    private PruningSearch() {}

    /**
     * Runs the search.
     *
     * @param components the components to prune (distinct names), all starting unpruned
     * @param schedule   the steps
     * @param n          N of the reference (FDT's largest value)
     * @param driver     FDT (the paper's algorithm) or perplexity (the baseline)
     * @param cells      measures the candidates
     */
    public static PruningResult run(List<PlanComponent> components, Schedule schedule, int n, PruningDriver driver,
                                    CellEvaluator cells) {
        return run(components, schedule, n, driver, cells, null);
    }

    /**
     * {@link #run(List, Schedule, int, PruningDriver, CellEvaluator)} with recovery training after
     * every step.
     *
     * @param recovery trains each step's pruned model; null = no training
     */
    public static PruningResult run(List<PlanComponent> components, Schedule schedule, int n, PruningDriver driver,
                                    CellEvaluator cells, StepRecovery recovery) {
        Objects.requireNonNull(components, "components");
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(driver, "driver");
        Objects.requireNonNull(cells, "cells");
        if (components.isEmpty()) {
            throw new IllegalArgumentException("a pruning search needs at least one component");
        }
        Map<String, List<Compression>> chains = new LinkedHashMap<>();
        Map<String, Double> sparsity = new HashMap<>();
        for (PlanComponent c : components) {
            if (chains.put(c.name(), new ArrayList<>()) != null) {
                throw new IllegalArgumentException("component " + c.name() + " is given twice");
            }
            sparsity.put(c.name(), 0.0);
        }
        List<PruningStep> steps = new ArrayList<>();
        Plan.Recovered trained = null;
        for (double t : schedule.steps()) {
            Plan current = planOf(components, chains, Map.of(), "step " + (steps.size() + 1) + " start")
                    .withRecovered(trained);
            double currentPerplexity = driver == PruningDriver.PERPLEXITY ? cells.measure(current).perplexity()
                    : Double.NaN;
            Map<String, CellMeasurement> atHalf = new HashMap<>();
            Map<String, CellMeasurement> atThreeHalves = new HashMap<>();
            // The step's measurements, independent of one another: asked for at once. Each
            // component not fully pruned is measured at min(s + t/2, 1) and min(s + 3t/2, 1).
            Map<String, CellEvaluator.Probe[]> points = new HashMap<>();
            List<CellEvaluator.Probe> probes = new ArrayList<>();
            for (PlanComponent c : components) {
                double s = sparsity.get(c.name());
                if (s < 1) {
                    CellEvaluator.Probe p1 = new CellEvaluator.Probe(c.name(), Math.min(s + t / 2, 1.0));
                    CellEvaluator.Probe p2 = new CellEvaluator.Probe(c.name(), Math.min(s + 3 * t / 2, 1.0));
                    points.put(c.name(), new CellEvaluator.Probe[] {p1, p2});
                    probes.add(p1);
                    if (!p2.equals(p1)) {
                        probes.add(p2);
                    }
                }
            }
            Map<CellEvaluator.Probe, CellMeasurement> measured = new HashMap<>();
            List<CellMeasurement> results = cells.measureAll(current, probes);
            if (results.size() != probes.size()) {
                throw new IllegalStateException(results.size() + " measurements for " + probes.size() + " probes");
            }
            for (int i = 0; i < probes.size(); i++) {
                measured.put(probes.get(i), results.get(i));
            }
            List<ComponentCurve> curves = new ArrayList<>();
            for (PlanComponent c : components) {
                double s = sparsity.get(c.name());
                double v1 = 0;
                double v2 = 0;
                CellEvaluator.Probe[] at = points.get(c.name());
                if (at != null) {
                    CellMeasurement m1 = measured.get(at[0]);
                    CellMeasurement m2 = measured.get(at[1]);
                    atHalf.put(c.name(), m1);
                    atThreeHalves.put(c.name(), m2);
                    v1 = valueOf(m1, driver, currentPerplexity, n);
                    v2 = valueOf(m2, driver, currentPerplexity, n);
                }
                curves.add(new ComponentCurve(c.name(), c.parameters(), s, v1, v2));
            }
            SparsityAllocation allocation = SparsityAllocation.compute(curves, t, n);
            for (ComponentAllocation a : allocation.allocations()) {
                if (a.added() > 0) {
                    sparsity.put(a.component(), a.totalSparsity());
                    chains.get(a.component()).add(Compression.magnitude(a.totalSparsity()));
                }
            }
            steps.add(new PruningStep(steps.size() + 1, allocation, atHalf, atThreeHalves, currentPerplexity));
            if (recovery != null) {
                Plan pruned = planOf(components, chains, Map.of(), driver.label() + " step " + steps.size())
                        .withRecovered(trained);
                trained = recovery.recover(pruned, driver.label(), steps.size()).recovered();
            }
        }
        Map<String, ObjectNode> evidence = new HashMap<>();
        for (PlanComponent c : components) {
            evidence.put(c.name(), evidence(c.name(), driver, n, steps));
        }
        String description = driver.label() + " pruning (Algorithm 1) to parameter-weighted mean sparsity "
                + schedule.targetSparsity() + " in " + schedule.steps().size() + " step(s)";
        if (recovery != null) {
            description += ", with recovery training after every step";
        }
        return new PruningResult(driver, schedule.targetSparsity(), steps,
                planOf(components, chains, evidence, description).withRecovered(trained));
    }

    /**
     * The uniform baseline: every component pruned by magnitude to {@code sparsity}, which is
     * then also the parameter-weighted mean.
     */
    public static Plan uniform(List<PlanComponent> components, double sparsity) {
        Objects.requireNonNull(components, "components");
        return uniformPlan(components, List.of(Compression.magnitude(sparsity)), sparsity, 0,
                UNIFORM + " pruning of every component to sparsity " + sparsity);
    }

    /**
     * Every component pruned by {@code chain} (magnitude to increasing sparsities, the last
     * {@code sparsity}); the evidence names the steps taken unless {@code steps} is 0.
     */
    private static Plan uniformPlan(List<PlanComponent> components, List<Compression> chain, double sparsity,
                                    int steps, String description) {
        List<Plan.Entry> entries = new ArrayList<>();
        for (PlanComponent component : components) {
            ObjectNode e = JsonNodeFactory.instance.objectNode();
            e.put("rule", UNIFORM);
            e.put("sparsity", sparsity);
            if (steps > 0) {
                e.put("steps", steps);
            }
            entries.add(new Plan.Entry(component.name(), chain, e));
        }
        return new Plan(description, entries);
    }

    /**
     * The uniform baseline with recovery training: the schedule's steps, each pruning every
     * component by magnitude to the step's cumulative sparsity and training the result, as the
     * guided searches do; the plan carries the last step's trained weights.
     */
    public static Plan uniform(List<PlanComponent> components, Schedule schedule, StepRecovery recovery) {
        Objects.requireNonNull(components, "components");
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(recovery, "recovery");
        List<Compression> chain = new ArrayList<>();
        Plan.Recovered trained = null;
        double total = 0;
        Plan plan = null;
        for (int k = 0; k < schedule.steps().size(); k++) {
            total = k == schedule.steps().size() - 1 ? schedule.targetSparsity() : total + schedule.steps().get(k);
            chain.add(Compression.magnitude(total));
            plan = uniformPlan(components, List.copyOf(chain), total, k + 1, UNIFORM + " pruning of every component "
                    + "to sparsity " + schedule.targetSparsity() + " in " + schedule.steps().size()
                    + " step(s), with recovery training after every step").withRecovered(trained);
            trained = recovery.recover(plan, UNIFORM, k + 1).recovered();
        }
        return plan.withRecovered(trained);
    }

    /**
     * The FDT-guided plan and its two baselines, each evaluated by {@code plans} under the names
     * {@link PruningDriver#label()} and {@link #UNIFORM}.
     */
    public static Comparison compare(List<PlanComponent> components, Schedule schedule, int n, CellEvaluator cells,
                                     PlanEvaluator plans) {
        return compare(components, schedule, n, cells, plans, null);
    }

    /**
     * {@link #compare(List, Schedule, int, CellEvaluator, PlanEvaluator)} with recovery training
     * after every step of every plan (null = none): each gets the same training budget.
     */
    public static Comparison compare(List<PlanComponent> components, Schedule schedule, int n, CellEvaluator cells,
                                     PlanEvaluator plans, StepRecovery recovery) {
        Objects.requireNonNull(plans, "plans");
        PruningResult fdt = run(components, schedule, n, PruningDriver.FDT, cells, recovery);
        Plan uniform = recovery == null ? uniform(components, schedule.targetSparsity())
                : uniform(components, schedule, recovery);
        PruningResult perplexity = run(components, schedule, n, PruningDriver.PERPLEXITY, cells, recovery);
        List<PlanOutcome> outcomes = plans.evaluateAll(List.of(PruningDriver.FDT.label(), UNIFORM,
                PruningDriver.PERPLEXITY.label()), List.of(fdt.plan(), uniform, perplexity.plan()));
        return new Comparison(fdt, uniform, perplexity, outcomes);
    }

    private static double valueOf(CellMeasurement m, PruningDriver driver, double currentPerplexity, int n) {
        return driver == PruningDriver.FDT ? m.fdt75()
                : PruningDriver.perplexityScore(m.perplexity(), currentPerplexity, n);
    }

    private static Plan planOf(List<PlanComponent> components, Map<String, List<Compression>> chains,
                               Map<String, ObjectNode> evidence, String description) {
        List<Plan.Entry> entries = new ArrayList<>();
        for (PlanComponent c : components) {
            List<Compression> chain = chains.get(c.name());
            if (!chain.isEmpty()) {
                entries.add(new Plan.Entry(c.name(), chain, evidence.get(c.name())));
            }
        }
        return new Plan(description, entries);
    }

    /** The evidence of one component: every step's measurements, threshold and choice. */
    private static ObjectNode evidence(String component, PruningDriver driver, int n, List<PruningStep> steps) {
        ObjectNode e = JsonNodeFactory.instance.objectNode();
        e.put("rule", driver.label() + " pruning (Algorithm 1)");
        e.put("n", n);
        e.put("measuredAgainst", MEASURED_AGAINST);
        ArrayNode list = e.putArray("steps");
        for (PruningStep step : steps) {
            ComponentAllocation a = step.allocation().of(component);
            ObjectNode s = list.addObject();
            s.put("step", step.index());
            s.put("targetAdded", step.allocation().target());
            s.put("threshold", step.allocation().threshold());
            s.put("lastStepShare", step.allocation().lastStepShare());
            s.put("sparsityBefore", a.curve().currentSparsity());
            CellMeasurement m1 = step.atHalf().get(component);
            CellMeasurement m2 = step.atThreeHalves().get(component);
            if (m1 != null) {
                double t = step.allocation().target();
                ArrayNode at = s.putArray("measuredAt");
                at.add(Math.min(a.curve().currentSparsity() + t / 2, 1.0));
                at.add(Math.min(a.curve().currentSparsity() + 3 * t / 2, 1.0));
                ArrayNode fdt = s.putArray("fdt75");
                fdt.add(m1.fdt75());
                fdt.add(m2.fdt75());
                ArrayNode ppl = s.putArray("perplexity");
                addNumber(ppl, m1.perplexity());
                addNumber(ppl, m2.perplexity());
            }
            if (driver == PruningDriver.PERPLEXITY) {
                putNumber(s, "currentPerplexity", step.currentPerplexity());
                ArrayNode score = s.putArray("score");
                score.add(a.curve().atHalf());
                score.add(a.curve().atThreeHalves());
            }
            s.put("added", a.added());
            s.put("sparsityAfter", a.totalSparsity());
            s.put("interpolated", a.interpolated());
        }
        return e;
    }

    private static void putNumber(ObjectNode o, String name, double v) {
        if (Double.isFinite(v)) {
            o.put(name, v);
        } else {
            o.putNull(name);
        }
    }

    private static void addNumber(ArrayNode a, double v) {
        if (Double.isFinite(v)) {
            a.add(v);
        } else {
            a.addNull();
        }
    }
}
