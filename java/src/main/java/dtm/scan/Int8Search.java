package dtm.scan;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.compress.Plan;
import dtm.model.Compression;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;

/**
 * FDT-guided int8 quantization (DESIGN.md §3) and its baselines: the same search over the
 * components ranked by perplexity of y instead (the paper's comparison: how many parameters each
 * order can quantize naively at the threshold), and a random order of the guided selection's
 * parameter count.
 *
 * <p>The components are ranked by FDT_75 of their scan cell under naive int8 (W8A8), highest
 * first (ties: higher mean FDT first, then scan order). The search grows the set of naively
 * quantized components along that order for as long as the combined candidate keeps
 * FDT_75 ≥ the threshold; the others get the fallback (LLM.int8() with outliers, say) or stay in
 * floating point. Each prefix is evaluated as a whole plan through a {@link PlanEvaluator}.
 *
 * <p>FDT_75 of the prefixes need not fall monotonically as the prefix grows (quantization errors
 * can cancel). {@link PrefixSearch#LINEAR} does what the paper describes: it evaluates prefixes
 * 1, 2, … and stops at the first that fails, keeping the one before (up to n evaluations).
 * {@link PrefixSearch#BINARY} evaluates the whole order first (if it passes, all is quantized),
 * then bisects between the empty prefix (taken as passing, not evaluated) and the shortest
 * prefix known to fail: it ends at a length k that passes (or 0) whose successor k + 1 fails,
 * in about log₂ n evaluations. When FDT_75 falls monotonically both give the same k; when it
 * does not, binary search finds some passing boundary, which may be longer than the linear
 * search's (a failure earlier in the order is skipped) or shorter (a pass further on is missed).
 */
public final class Int8Search {
    /** How the prefix length is searched (see the class comment). */
    public enum PrefixSearch { LINEAR, BINARY }

    /**
     * What to search for.
     *
     * @param threshold the FDT_75 the combined candidate must keep, ≥ 0
     * @param fallback  the compression of the components not naively quantized (e.g.
     *                  int8-outlier); null = leave them in floating point
     * @param search    how the prefix length is searched
     */
    public record Options(int threshold, Compression fallback, PrefixSearch search) {
        public Options {
            if (threshold < 0) {
                throw new IllegalArgumentException("FDT threshold must be >= 0, got " + threshold);
            }
            Objects.requireNonNull(search, "search");
        }
    }

    /**
     * One prefix evaluated.
     *
     * @param length  how many components of the order were naively quantized
     * @param outcome the candidate's evaluation
     * @param passed  whether its FDT_75 reached the threshold
     */
    public record PrefixCheck(int length, PlanOutcome outcome, boolean passed) {
        public PrefixCheck {
            Objects.requireNonNull(outcome, "outcome");
        }
    }

    /**
     * The FDT-guided selection and its baselines, evaluated.
     *
     * @param selection         the FDT-guided search
     * @param perplexityRanked  the same search over the components ranked by perplexity of y
     * @param randomOrder       the random-order plan of the guided selection's parameter count
     * @param outcomes          the guided plan, the perplexity-ranked plan, the random order, evaluated
     */
    public record Comparison(Int8Selection selection, Int8Selection perplexityRanked, Plan randomOrder,
                             List<PlanOutcome> outcomes) {
        public Comparison {
            Objects.requireNonNull(selection, "selection");
            Objects.requireNonNull(perplexityRanked, "perplexityRanked");
            Objects.requireNonNull(randomOrder, "randomOrder");
            outcomes = List.copyOf(outcomes);
        }

        /** The prefix search behind the outcome of that name, or null for the random order (or another name). */
        public Int8Selection searchOf(String outcomeName) {
            return switch (outcomeName) {
                case GUIDED -> selection;
                case PERPLEXITY_RANKED -> perplexityRanked;
                default -> null;
            };
        }
    }

    /** The name of the guided plan's outcome. */
    public static final String GUIDED = "FDT-guided int8";
    /** The name of the perplexity-ranked baseline's outcome. */
    public static final String PERPLEXITY_RANKED = "perplexity-ranked int8";
    /** The name of the random-order baseline's outcome. */
    public static final String RANDOM_ORDER = "random-order int8";

    private static final String NAIVE = Compression.int8().toString();

    private Int8Search() {}

    /**
     * The components of the scan that have a naive int8 cell, most robust first.
     *
     * @throws IllegalArgumentException the scan has no naive int8 cell
     */
    public static List<RankedComponent> rank(ScanResult scan) {
        Objects.requireNonNull(scan, "scan");
        List<RankedComponent> out = new ArrayList<>();
        for (ScanCell c : scan.cells()) {
            if (c.setting().equals(NAIVE)) {
                out.add(new RankedComponent(c.component(), c.parameters(), c.fdt75(), c.aggregates().fdt().mean(),
                        c.aggregates().tokenPerplexity()));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("the scan has no cell of setting '" + NAIVE + "' to rank components by; "
                    + "its settings are " + scan.settings());
        }
        out.sort(Comparator.comparingInt(RankedComponent::fdt75).reversed()
                .thenComparing(Comparator.comparingDouble(RankedComponent::fdtMean).reversed()));
        return out;
    }

    /**
     * The components of the scan that have a naive int8 cell, lowest perplexity of y first (ties:
     * higher FDT_75, then scan order): the order a perplexity-driven search would take.
     */
    public static List<RankedComponent> rankByPerplexity(ScanResult scan) {
        List<RankedComponent> out = new ArrayList<>(rank(scan));
        out.sort(Comparator.comparingDouble(RankedComponent::perplexity)
                .thenComparing(Comparator.comparingInt(RankedComponent::fdt75).reversed()));
        return out;
    }

    /** Runs the search over the components ranked from {@code scan} by FDT (the guided search). */
    public static Int8Selection select(ScanResult scan, Options options, PlanEvaluator plans) {
        return select(rank(scan), GUIDED, "most robust to naive int8 by FDT", options, plans);
    }

    /**
     * Runs the search over {@code order}; the plan's entries carry {@code rule} as their rule and
     * its description says the components were {@code ranked}.
     */
    public static Int8Selection select(List<RankedComponent> order, String rule, String ranked, Options options,
                                       PlanEvaluator plans) {
        Objects.requireNonNull(order, "order");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(plans, "plans");
        List<PrefixCheck> checks = new ArrayList<>();
        int selected;
        if (options.search() == PrefixSearch.LINEAR) {
            selected = linear(order, options, plans, checks);
        } else if (check(order.size(), order, options, plans, checks).passed()) {
            selected = order.size();
        } else {
            int passing = 0;
            int failing = order.size();
            while (failing - passing > 1) {
                int mid = (passing + failing) >>> 1;
                if (check(mid, order, options, plans, checks).passed()) {
                    passing = mid;
                } else {
                    failing = mid;
                }
            }
            selected = passing;
        }
        if (selected == 0 && options.fallback() != null) {
            // Nothing naive: whether the fallback alone keeps the threshold is worth knowing (the
            // searches never check the empty prefix; with no fallback it is the base, which passes
            // by the laws).
            check(0, order, options, plans, checks);
        }
        return new Int8Selection(options, order, selected, checks,
                selectionPlan(order, selected, options, checks, rule, ranked));
    }

    /**
     * The baseline: the components in a random order ({@code java.util.Random(seed)} shuffling
     * the given order), naively quantized from the front up to the prefix whose parameter count
     * is closest to {@code targetParameters} (ties: the shorter prefix); the rest get
     * {@code fallback} (null = floating point).
     */
    public static Plan randomOrder(List<PlanComponent> components, long targetParameters, long seed,
                                   Compression fallback) {
        Objects.requireNonNull(components, "components");
        List<PlanComponent> order = new ArrayList<>(components);
        Collections.shuffle(order, new Random(seed));
        int chosen = 0;
        long best = targetParameters;  // distance of the empty prefix
        long sum = 0;
        for (int k = 1; k <= order.size(); k++) {
            sum += order.get(k - 1).parameters();
            if (Math.abs(sum - targetParameters) < best) {
                best = Math.abs(sum - targetParameters);
                chosen = k;
            }
        }
        List<Plan.Entry> entries = new ArrayList<>();
        for (int i = 0; i < order.size(); i++) {
            ObjectNode e = JsonNodeFactory.instance.objectNode();
            e.put("rule", RANDOM_ORDER);
            e.put("seed", seed);
            e.put("position", i + 1);
            e.put("targetParameters", targetParameters);
            boolean quantized = i < chosen;
            if (quantized || fallback != null) {
                entries.add(new Plan.Entry(order.get(i).name(), List.of(quantized ? Compression.int8() : fallback), e));
            }
        }
        return new Plan(RANDOM_ORDER + ": " + chosen + " components in a random order (seed " + seed + ") naively "
                + "quantized, " + (fallback == null ? "the rest in floating point" : "the rest " + fallback), entries);
    }

    /**
     * The guided selection and its random-order baseline (same parameter count, same fallback,
     * order from {@code seed}), evaluated under the names {@link #GUIDED} and {@link #RANDOM_ORDER}.
     */
    public static Comparison compare(ScanResult scan, Options options, long seed, PlanEvaluator plans) {
        Int8Selection selection = select(scan, options, plans);
        Int8Selection byPerplexity = select(rankByPerplexity(scan), PERPLEXITY_RANKED,
                "least harmed by naive int8 by perplexity of y", options, plans);
        Plan random = randomOrder(PlanComponent.of(scan), selection.selectedParameters(), seed, options.fallback());
        return new Comparison(selection, byPerplexity, random, List.of(outcomeOf(selection, GUIDED, plans),
                outcomeOf(byPerplexity, PERPLEXITY_RANKED, plans), plans.evaluate(RANDOM_ORDER, random)));
    }

    /** The selection's plan evaluated: its prefix check when the search made it, else evaluated now. */
    private static PlanOutcome outcomeOf(Int8Selection selection, String name, PlanEvaluator plans) {
        PrefixCheck chosen = selection.check(selection.selected());
        return chosen == null ? plans.evaluate(name, selection.plan()) : chosen.outcome().withName(name, selection.plan());
    }

    /**
     * The longest prefix whose every prefix passes, checking prefixes in increasing length. With
     * an evaluator of several slots a round checks that many lengths side by side; checks past
     * the first failure are dropped, so the checks and the selection are those of one after another.
     */
    private static int linear(List<RankedComponent> order, Options options, PlanEvaluator plans,
                              List<PrefixCheck> checks) {
        int slots = Math.max(1, plans.slots());
        int selected = 0;
        for (int first = 1; first <= order.size(); first += slots) {
            int last = Math.min(order.size(), first + slots - 1);
            List<String> names = new ArrayList<>();
            List<Plan> round = new ArrayList<>();
            for (int k = first; k <= last; k++) {
                names.add("int8 prefix " + k);
                round.add(prefixPlan(order, k, options.fallback(), List.of(), "int8 prefix " + k));
            }
            List<PlanOutcome> outcomes = plans.evaluateAll(names, round);
            for (int k = first; k <= last; k++) {
                PlanOutcome outcome = outcomes.get(k - first);
                PrefixCheck c = new PrefixCheck(k, outcome, outcome.fdt75() >= options.threshold());
                checks.add(c);
                if (!c.passed()) {
                    return selected;
                }
                selected = k;
            }
        }
        return selected;
    }

    private static PrefixCheck check(int length, List<RankedComponent> order, Options options, PlanEvaluator plans,
                                     List<PrefixCheck> checks) {
        Plan plan = prefixPlan(order, length, options.fallback(), List.of(), "int8 prefix " + length);
        PlanOutcome outcome = plans.evaluate("int8 prefix " + length, plan);
        PrefixCheck c = new PrefixCheck(length, outcome, outcome.fdt75() >= options.threshold());
        checks.add(c);
        return c;
    }

    private static Plan selectionPlan(List<RankedComponent> order, int selected, Options options,
                                      List<PrefixCheck> checks, String rule, String ranked) {
        List<ObjectNode> evidence = new ArrayList<>();
        PrefixCheck chosen = null;
        PrefixCheck next = null;
        for (PrefixCheck c : checks) {
            if (c.length() == selected) {
                chosen = c;
            } else if (c.length() == selected + 1) {
                next = c;
            }
        }
        for (int i = 0; i < order.size(); i++) {
            RankedComponent r = order.get(i);
            ObjectNode e = JsonNodeFactory.instance.objectNode();
            e.put("rule", rule);
            e.put("rank", i + 1);
            e.put("fdt75Alone", r.fdt75());
            e.put("fdtMeanAlone", r.fdtMean());
            e.put("perplexityAlone", r.perplexity());  // a non-finite one becomes null (Plan.Entry)
            e.put("threshold", options.threshold());
            e.put("search", options.search().name().toLowerCase(Locale.ROOT));
            e.put("selected", selected);
            e.put("naiveInt8", i < selected);
            if (chosen != null) {
                e.put("selectedFdt75", chosen.outcome().fdt75());
            }
            if (next != null) {
                e.put("nextPrefixFdt75", next.outcome().fdt75());
            }
            evidence.add(e);
        }
        String description = (chosen != null && !chosen.passed()
                ? rule + ": no prefix of the " + order.size() + " components " + ranked + " keeps FDT_75 >= "
                        + options.threshold() + ", the fallback alone gives FDT_75 " + chosen.outcome().fdt75() + "; "
                : rule + ": the " + selected + " of " + order.size() + " components " + ranked
                        + " keep FDT_75 >= " + options.threshold() + "; ")
                + (options.fallback() == null ? "the rest in floating point" : "the rest " + options.fallback());
        return prefixPlan(order, selected, options.fallback(), evidence, description);
    }

    /** The first {@code length} components naive int8, the rest {@code fallback} (or absent). */
    private static Plan prefixPlan(List<RankedComponent> order, int length, Compression fallback,
                                   List<ObjectNode> evidence, String description) {
        List<Plan.Entry> entries = new ArrayList<>();
        for (int i = 0; i < order.size(); i++) {
            boolean quantized = i < length;
            if (quantized || fallback != null) {
                entries.add(new Plan.Entry(order.get(i).component(),
                        List.of(quantized ? Compression.int8() : fallback), evidence.isEmpty() ? null : evidence.get(i)));
            }
        }
        return new Plan(description, entries);
    }
}
