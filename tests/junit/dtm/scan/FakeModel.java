package dtm.scan;

import dtm.compress.Plan;
import dtm.model.Compression;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A synthetic model for the plan-search tests: each component has its own FDT curve of
 * sparsity, FDT_75 of a candidate is the smallest of its components' values (the weakest link),
 * and perplexity grows with each component's own sensitivity. It evaluates plans and single
 * cells and records every cell it was asked for.
 */
final class FakeModel implements CellEvaluator, PlanEvaluator {
    /** How a component degrades when pruned alone to sparsity s. */
    interface Curve {
        double fdt(double s);
    }

    /**
     * One recorded cell request.
     *
     * @param plan          the plan it started from
     * @param component     the component pruned further
     * @param totalSparsity its sparsity afterwards
     */
    record Request(Plan plan, String component, double totalSparsity) {}

    private final int n;
    private final Map<String, Curve> fdt = new HashMap<>();
    private final Map<String, Double> perplexityWeight = new HashMap<>();
    final List<Request> requests = new ArrayList<>();
    final List<String> evaluated = new ArrayList<>();

    FakeModel(int n) {
        this.n = n;
    }

    FakeModel with(String component, Curve curve, double perplexityWeight) {
        fdt.put(component, curve);
        this.perplexityWeight.put(component, perplexityWeight);
        return this;
    }

    /** Each component's sparsity under a plan: the last compression of its entry (0 if none). */
    static Map<String, Double> sparsities(Plan plan) {
        Map<String, Double> s = new HashMap<>();
        for (Plan.Entry e : plan.entries()) {
            Compression last = e.compressions().get(e.compressions().size() - 1);
            s.put(e.match(), last.kind().isPruning() ? last.sparsity() : 0.0);
        }
        return s;
    }

    private CellMeasurement measureSparsities(Map<String, Double> s) {
        double worst = n;
        double ppl = 10;
        for (Map.Entry<String, Curve> c : fdt.entrySet()) {
            double sc = s.getOrDefault(c.getKey(), 0.0);
            worst = Math.min(worst, c.getValue().fdt(sc));
            ppl *= 1 + perplexityWeight.get(c.getKey()) * sc * sc;
        }
        return new CellMeasurement((int) Math.round(Math.max(0, Math.min(n, worst))), ppl);
    }

    @Override
    public CellMeasurement measure(Plan plan) {
        return measureSparsities(sparsities(plan));
    }

    @Override
    public CellMeasurement measure(Plan current, String component, double totalSparsity) {
        requests.add(new Request(current, component, totalSparsity));
        Map<String, Double> s = sparsities(current);
        s.put(component, totalSparsity);
        return measureSparsities(s);
    }

    @Override
    public PlanOutcome evaluate(String name, Plan plan) {
        evaluated.add(name);
        CellMeasurement m = measure(plan);
        return new PlanOutcome(name, plan, 0, 0, new Headline(0, 0, 0), m.fdt75(), m.fdt75(), n - m.fdt75(), m.perplexity(), Double.NaN, 0);
    }
}
