package dtm.report;

import com.fasterxml.jackson.databind.JsonNode;
import dtm.compress.Plan;
import dtm.metrics.MetricText;
import dtm.model.Compression;
import dtm.scan.Int8Search;
import dtm.scan.PlanComponent;
import dtm.scan.PlanOutcome;
import dtm.scan.PruningResult;
import dtm.scan.PruningSearch;
import dtm.scan.RankAgreement;
import dtm.scan.ScanCell;
import dtm.scan.ScanResult;
import dtm.scan.TextSample;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The scan report as one self-contained HTML page (docs/report.md): the charts are inline SVG
 * drawn on the server, the style sheet is inline, and there is no script and no reference to
 * anything outside the file, so it opens without a network.
 */
public final class HtmlReport {
    /** The names of the data files written beside the page, as the page mentions them. */
    private static final String DATA_NOTE = "The same data: <code>" + ReportWriter.JSON_FILE + "</code> (schema <code>"
            + ScanJson.SCHEMA + "</code>), <code>" + ReportWriter.CELLS_CSV_FILE + "</code> and <code>"
            + ReportWriter.PLANS_CSV_FILE + "</code>, beside this file.";

    private static final String STYLE = """
            body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1400px; }
            h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
            p.note { color: #555; max-width: 70em; }
            table { border-collapse: collapse; margin: 8px 0; font-size: 0.9em; }
            th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
            th { background: #f0f0f0; } td.text, th.text { text-align: left; }
            .charts { display: flex; flex-wrap: wrap; gap: 16px; }
            figure.chart { margin: 0; border: 1px solid #e4e4e4; padding: 4px; }
            figure.chart figcaption { font-size: 0.85em; color: #555; max-width: 560px; }
            svg { max-width: 100%; height: auto; }
            table.samples td { vertical-align: top; max-width: 36em; white-space: pre-wrap; }
            table.samples td.prompt { color: #555; }
            mark { background: #fdd835; } span.after { color: #888; }
            """;

    private HtmlReport() {}

    /** The charts of the report, in page order (ids unique). */
    public static List<SvgChart> charts(ReportInput input) {
        ScanResult scan = input.scan();
        List<SvgChart> out = new ArrayList<>();
        if (!input.outcomes().isEmpty()) {
            out.add(SvgChart.render("chart-plans", "plans", "FDT_75, mean FDT and mean SDT of each plan (higher FDT and "
                    + "lower SDT are closer to the base).", ScanCharts.plans(input.outcomes(), scan.n()),
                    Math.max(560, 150 * input.outcomes().size()), 360));
        }
        int rows = (int) scan.cells().stream().map(ScanCell::layer).distinct().count();
        int gridWidth = Math.max(420, 52 * ScanCharts.kinds(scan).size() + 170);
        int gridHeight = 120 + 28 * rows;
        int index = 0;
        if (input.pruning() != null) {
            List<String> components = PlanComponent.of(scan).stream().map(PlanComponent::name).toList();
            for (PruningResult r : List.of(input.pruning().fdtGuided(), input.pruning().perplexityGuided())) {
                int steps = r.steps().size();
                for (int k = 1; k <= steps; k++) {
                    Map<String, Double> sparsity = new LinkedHashMap<>();
                    for (String c : components) {
                        sparsity.put(c, r.sparsityOf(c, k));
                    }
                    String title = r.driver().label() + (steps > 1 ? ", after step " + k + " of " + steps : "");
                    out.add(SvgChart.render("chart-allocation-" + index++, "allocation", "Sparsity (percent) "
                            + "the " + r.driver().label() + " plan gives each component" + (steps > 1 ? " after step "
                            + k + " of " + steps : "") + ".", ScanCharts.allocation(scan, title, sparsity), gridWidth,
                            gridHeight));
                }
            }
            Map<String, Double> uniform = new LinkedHashMap<>();
            for (Plan.Entry e : input.pruning().uniform().entries()) {
                uniform.put(e.match(), e.compressions().get(e.compressions().size() - 1).sparsity());
            }
            out.add(SvgChart.render("chart-allocation-" + index++, "allocation", "Sparsity (percent) the "
                    + PruningSearch.UNIFORM + " baseline gives each component: the same everywhere.",
                    ScanCharts.allocation(scan, PruningSearch.UNIFORM, uniform), gridWidth, gridHeight));
        }
        if (input.int8() != null) {
            out.add(SvgChart.render("chart-int8-prefixes", "int8-prefixes", "FDT_75 of every prefix the int8 "
                    + "searches evaluated (the first k components of their order in naive int8, the rest "
                    + fallbackText(input.int8()) + ") against the share of the scanned parameters in naive int8; "
                    + "the random order is evaluated at one size.", ScanCharts.int8Prefixes(input.int8(), scan.n()),
                    620, 400));
        }
        index = 0;
        for (String setting : scan.settings()) {
            if (scan.cells().stream().noneMatch(c -> c.setting().equals(setting))) {
                continue;
            }
            out.add(SvgChart.render("chart-heatmap-" + index++, "heatmap", "FDT_75 per layer and component with "
                    + setting + " applied to that component alone.", ScanCharts.heatmap(scan, setting), gridWidth,
                    gridHeight));
        }
        index = 0;
        for (Map.Entry<String, List<String>> method : ScanCharts.pruningSettings(scan).entrySet()) {
            out.add(SvgChart.render("chart-fdt-curve-" + index, "fdt-curve", "FDT_75 against " + method.getKey()
                    + " sparsity, mean over layers, per component type.", ScanCharts.againstSparsity(scan,
                    method.getKey(), method.getValue(), false), 560, 380));
            out.add(SvgChart.render("chart-sdt-curve-" + index, "sdt-curve", "Mean SDT against " + method.getKey()
                    + " sparsity, mean over layers, per component type.", ScanCharts.againstSparsity(scan,
                    method.getKey(), method.getValue(), true), 560, 380));
            index++;
        }
        index = 0;
        for (RankAgreement r : RankAgreement.all(scan)) {
            if (r.components().size() >= 2) {
                out.add(SvgChart.render("chart-rank-" + index++, "rank", "Components of " + r.setting() + " ranked by "
                        + "FDT_75 and by perplexity of y; on the dashed diagonal the two agree.",
                        ScanCharts.rankScatter(r), 440, 420));
            }
        }
        return out;
    }

    /** The whole page. */
    public static String render(ReportInput input) {
        ScanResult scan = input.scan();
        List<SvgChart> charts = charts(input);
        StringBuilder h = new StringBuilder(1 << 20);
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
                .append(escape(input.title())).append("</title>\n<style>\n").append(STYLE).append("</style>\n</head>\n")
                .append("<body>\n<h1>").append(escape(input.title())).append("</h1>\n");

        h.append("<section id=\"about\">\n<table>\n");
        about(h, "base", scan.base());
        about(h, "reference", scan.reference());
        about(h, "N (continuation tokens)", Integer.toString(scan.n()));
        about(h, "settings", String.join(", ", scan.settings()));
        about(h, "cells", scan.cells().size() + " (" + scan.cells().stream().map(ScanCell::component).distinct().count()
                + " components)");
        about(h, "scan time", String.format(Locale.ROOT,
                "%.1f s this run; the cells' own times add up to %.1f s", scan.seconds(),
                scan.cellSeconds()));
        input.metadata().forEach((k, v) -> about(h, k, v));
        h.append("</table>\n<p class=\"note\">").append(DATA_NOTE).append("</p>\n</section>\n");

        h.append("<section id=\"plans\">\n<h2>Plans against baselines</h2>\n");
        if (input.outcomes().isEmpty()) {
            h.append("<p class=\"note\">No plan was evaluated in this run.</p>\n");
        } else {
            h.append("<p class=\"note\">Each plan applied to the base as a whole and evaluated against the base's "
                    + "reference. FDT_75: the largest v such that 75 % of samples keep at least v tokens of the base's "
                    + "continuation; SDT: divergent tokens per sample; PPL of y: perplexity of the base's continuations "
                    + "under the candidate; text PPL: llama.cpp-convention perplexity on ground-truth text.</p>\n");
            plansTable(h, input);
            figures(h, charts, "plans");
        }
        h.append("</section>\n");

        if (input.outcomes().stream().anyMatch(o -> o.plan().recovered() != null)) {
            recovery(h, input);
        }
        if (input.pruning() != null) {
            h.append("<section id=\"allocation\">\n<h2>What each pruning plan does per component</h2>\n<p class="
                    + "\"note\">The sparsity each plan gives each matrix (percent of its weights set to zero), on the "
                    + "heatmaps' grid; for a plan of several steps, after each step. White is unpruned, dark blue "
                    + "fully pruned.</p>\n");
            figures(h, charts, "allocation");
            h.append("</section>\n");
        }
        if (input.int8() != null) {
            h.append("<section id=\"int8-prefixes\">\n<h2>int8: how much can be quantized naively</h2>\n<p "
                    + "class=\"note\">Each point is one candidate the searches evaluated: the first k components "
                    + "of an order in naive int8 (W8A8), the rest " + escape(fallbackText(input.int8())) + ". A "
                    + "search keeps the longest prefix at or above the threshold; the order that stays above it "
                    + "further to the right quantizes more of the model naively.</p>\n");
            figures(h, charts, "int8-prefixes");
            h.append("</section>\n");
        }
        if (input.samples().values().stream().anyMatch(l -> !l.isEmpty())) {
            samples(h, input);
        }

        h.append("<section id=\"heatmaps\">\n<h2>FDT_75 per layer × component</h2>\n<p class=\"note\">One scan cell "
                + "per square: that component alone compressed by the setting, the rest of the model the base's. "
                + "Green keeps the base's text for longer (N = every token the same); red diverges early.</p>\n");
        figures(h, charts, "heatmap");
        h.append("</section>\n");

        h.append("<section id=\"curves\">\n<h2>FDT and SDT against sparsity</h2>\n");
        if (ScanCharts.pruningSettings(scan).isEmpty()) {
            h.append("<p class=\"note\">The scan has no pruning setting.</p>\n");
        } else {
            h.append("<p class=\"note\">Per component type, the mean over layers of the cells' FDT_75 and mean SDT at "
                    + "each pruning sparsity; sparsity 0 is the base itself (FDT = N, SDT = 0).</p>\n");
            figures(h, charts, "fdt-curve");
            figures(h, charts, "sdt-curve");
        }
        h.append("</section>\n");

        h.append("<section id=\"ranks\">\n<h2>Rank by FDT against rank by perplexity</h2>\n<p class=\"note\">Does "
                + "perplexity single out the same components as FDT? Kendall's τ_b of the two rankings per setting "
                + "(1: same order, 0: unrelated, −1: reversed; ties averaged).</p>\n<table>\n<tr><th class=\"text\">"
                + "setting</th><th>components</th><th>Kendall's τ_b</th></tr>\n");
        for (RankAgreement r : RankAgreement.all(scan)) {
            h.append("<tr><td class=\"text\">").append(escape(r.setting())).append("</td><td>")
                    .append(r.components().size()).append("</td><td>").append(escape(ScanCharts.tauText(r.kendallTauB())))
                    .append("</td></tr>\n");
        }
        h.append("</table>\n");
        figures(h, charts, "rank");
        h.append("</section>\n");

        h.append("<section id=\"cells\">\n<h2>All cells</h2>\n<details><summary>").append(scan.cells().size())
                .append(" cells</summary>\n<table>\n<tr><th class=\"text\">component</th><th class=\"text\">setting"
                        + "</th><th>FDT_75</th><th>mean FDT</th><th>mean SDT</th><th>PPL of y</th><th>seconds</th></tr>\n");
        for (ScanCell c : scan.cells()) {
            h.append("<tr><td class=\"text\">").append(escape(c.component())).append("</td><td class=\"text\">")
                    .append(escape(c.setting())).append("</td><td>").append(c.fdt75()).append("</td><td>")
                    .append(format("%.1f", c.aggregates().fdt().mean())).append("</td><td>")
                    .append(format("%.1f", c.aggregates().sdt().mean())).append("</td><td>")
                    .append(format("%.3f", c.aggregates().tokenPerplexity())).append("</td><td>")
                    .append(format("%.2f", c.seconds())).append("</td></tr>\n");
        }
        h.append("</table>\n</details>\n</section>\n</body>\n</html>\n");
        return h.toString();
    }

    private static void plansTable(StringBuilder h, ReportInput input) {
        h.append("<table>\n<tr><th class=\"text\">plan</th><th>sparsity</th><th>naive int8</th><th>FDT_75</th>"
                + "<th>mean FDT</th><th>mean SDT</th><th>PPL of y</th><th>text PPL</th><th>bytes</th>"
                + "<th>vs fp32</th><th title=\"decoder matrices with more than 90 % zero weights\">&gt; 90 % "
                + "pruned</th><th title=\"attention q, k, v, o with more than 90 % zero weights\">attention "
                + "&gt; 90 %</th><th title=\"decoder parameters in naive int8\">decoder int8</th></tr>\n");
        for (PlanOutcome o : input.outcomes()) {
            h.append("<tr><td class=\"text\">").append(escape(o.name())).append("</td><td>")
                    .append(format("%.1f %%", 100 * o.sparsity())).append("</td><td>")
                    .append(format("%.1f %%", 100 * o.quantizedShare())).append("</td><td>").append(o.fdt75())
                    .append("</td><td>").append(format("%.1f", o.fdtMean())).append("</td><td>")
                    .append(format("%.1f", o.sdtMean())).append("</td><td>").append(format("%.3f", o.perplexity()))
                    .append("</td><td>").append(optional("%.3f", o.textPerplexity())).append("</td><td>")
                    .append(format("%,d", o.bytes())).append("</td><td>")
                    .append(optional("%.1f %%", 100 * input.sizeVsFp32(o))).append("</td><td>")
                    .append(format("%.1f %%", 100 * o.headline().prunedBeyond90())).append("</td><td>")
                    .append(format("%.1f %%", 100 * o.headline().attentionPrunedBeyond90())).append("</td><td>")
                    .append(format("%.1f %%", 100 * o.headline().decoderInt8Share())).append("</td></tr>\n");
        }
        h.append("</table>\n");
    }

    /**
     * The recovery training of every plan that has it (the record its plan file carries): per
     * step the tokens, the time, the training throughput and the KL loss of the first and last batch.
     */
    private static void recovery(StringBuilder h, ReportInput input) {
        h.append("<section id=\"recovery\">\n<h2>Recovery training between pruning steps</h2>\n");
        String prompts = null;
        StringBuilder rows = new StringBuilder();
        for (PlanOutcome o : input.outcomes()) {
            if (o.plan().recovered() == null || o.plan().recovered().training() == null) {
                continue;
            }
            JsonNode t = o.plan().recovered().training();
            if (prompts == null) {
                prompts = t.path("objective").asText("") + ", " + t.path("tokensPerStep").asLong() + " tokens per step, "
                        + "AdamW (peak learning rate " + t.path("optimizer").path("learningRate").asDouble() + ", "
                        + t.path("optimizer").path("schedule").asText("") + ", batches of "
                        + t.path("optimizer").path("batchSequences").asInt() + " sequences, seed "
                        + t.path("optimizer").path("seed").asLong() + "), on "
                        + t.path("trainingPrompts").path("description").asText("") + ".";
            }
            for (JsonNode step : t.path("steps")) {
                rows.append("<tr><td class=\"text\">").append(escape(o.name())).append("</td><td>")
                        .append(step.path("step").asInt()).append("</td><td>")
                        .append(format("%,d", step.path("tokens").asLong())).append("</td><td>")
                        .append(step.path("optimizerSteps").asInt()).append("</td><td>")
                        .append(optional("%.1f", numberOf(step.path("seconds")))).append("</td><td>")
                        .append(optional("%.0f", numberOf(step.path("tokensPerSecond")))).append("</td><td>")
                        .append(optional("%.4f", numberOf(step.path("firstLoss")))).append("</td><td>")
                        .append(optional("%.4f", numberOf(step.path("lastLoss")))).append("</td></tr>\n");
            }
        }
        h.append("<p class=\"note\">Each pruning step's model was trained before the next step measured it, every "
                + "plan with the same budget: ").append(escape(prompts == null ? "" : prompts))
                .append(" Pruned weights stay exactly zero. KL: nats per token position, of the step's first and "
                        + "last batch.</p>\n");
        h.append("<table>\n<tr><th class=\"text\">plan</th><th>step</th><th>tokens</th><th>optimizer steps</th>"
                + "<th>seconds</th><th>tokens/s</th><th>KL first</th><th>KL last</th></tr>\n");
        h.append(rows).append("</table>\n</section>\n");
    }

    /** A JSON number's value; NaN for null (how dtm writes a non-finite number) or a missing field. */
    private static double numberOf(JsonNode node) {
        return node.isNumber() ? node.doubleValue() : Double.NaN;
    }

    /**
     * Per plan, its text samples: prompt, then the base's continuation beside the candidate's,
     * the tokens both share plain, the first divergent token marked, the rest muted.
     */
    private static void samples(StringBuilder h, ReportInput input) {
        h.append("<section id=\"samples\">\n<h2>What FDT counts: text of base and candidate</h2>\n<p class=\"note\">"
                + "For each plan a few prompts of the reference, continued greedily by the base (its reference "
                + "continuation y) and by the plan's candidate. FDT is the number of tokens the two share before "
                + "the first divergent token, <mark>marked</mark>; after it the continuations go their own way "
                + "(shown muted). The samples are the one that diverges earliest, the one at FDT_75 and the one "
                + "at the median FDT.</p>\n");
        for (Map.Entry<String, List<TextSample>> plan : input.samples().entrySet()) {
            if (plan.getValue().isEmpty()) {
                continue;
            }
            h.append("<h3>").append(escape(plan.getKey())).append("</h3>\n<table class=\"samples\">\n<tr><th "
                    + "class=\"text\">sample</th><th class=\"text\">prompt</th><th class=\"text\">base</th><th "
                    + "class=\"text\">candidate</th></tr>\n");
            for (TextSample t : plan.getValue()) {
                h.append("<tr><td class=\"text\">").append(escape(t.label())).append("<br>sample ")
                        .append(t.sample()).append(", FDT ").append(t.fdt()).append(" of ").append(t.base().size())
                        .append("</td><td class=\"text prompt\">").append(escape(t.prompt()))
                        .append("</td><td class=\"text\">");
                continuation(h, t.base(), t.fdt());
                h.append("</td><td class=\"text\">");
                continuation(h, t.candidate(), t.fdt());
                h.append("</td></tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("</section>\n");
    }

    /**
     * Pieces before {@code fdt} plain, piece {@code fdt} marked (a token without text, such as
     * EOS, as "⟨no text⟩" so that the mark shows), the rest muted.
     */
    private static void continuation(StringBuilder h, List<String> pieces, int fdt) {
        int shared = Math.min(fdt, pieces.size());
        h.append(escape(String.join("", pieces.subList(0, shared))));
        if (shared < pieces.size()) {
            String divergent = pieces.get(shared);
            h.append("<mark>").append(divergent.isEmpty() ? "⟨no text⟩" : escape(divergent))
                    .append("</mark><span class=\"after\">")
                    .append(escape(String.join("", pieces.subList(shared + 1, pieces.size())))).append("</span>");
        }
    }

    /** What the int8 searches give the components not naively quantized, in words. */
    private static String fallbackText(Int8Search.Comparison int8) {
        Compression fallback = int8.selection().options().fallback();
        return fallback == null ? "left in floating point" : "in " + fallback;
    }

    private static void figures(StringBuilder h, List<SvgChart> charts, String kind) {
        h.append("<div class=\"charts\">\n");
        for (SvgChart c : charts) {
            if (c.kind().equals(kind)) {
                h.append("<figure class=\"chart\" data-chart=\"").append(kind).append("\">\n").append(c.svg())
                        .append("\n<figcaption>").append(escape(c.caption())).append("</figcaption>\n</figure>\n");
            }
        }
        h.append("</div>\n");
    }

    private static void about(StringBuilder h, String label, String value) {
        h.append("<tr><th class=\"text\">").append(escape(label)).append("</th><td class=\"text\">")
                .append(escape(value)).append("</td></tr>\n");
    }

    /** A number for people; "nan", "inf" or "-inf" when it is not finite (a candidate that computes NaN). */
    private static String format(String pattern, Object value) {
        if (value instanceof Double d) {
            return MetricText.table(pattern, d);
        }
        return String.format(Locale.ROOT, pattern, value);
    }

    /** A figure that may not have been measured (NaN): "–" then, else as {@link #format}. */
    private static String optional(String pattern, double value) {
        return Double.isNaN(value) ? "–" : format(pattern, value);
    }

    /** Text made safe for HTML content and attribute values. */
    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
