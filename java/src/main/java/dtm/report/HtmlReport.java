package dtm.report;

import dtm.metrics.MetricText;
import dtm.scan.PlanOutcome;
import dtm.scan.RankAgreement;
import dtm.scan.ScanCell;
import dtm.scan.ScanResult;

import java.util.ArrayList;
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
        int index = 0;
        for (String setting : scan.settings()) {
            if (scan.cells().stream().noneMatch(c -> c.setting().equals(setting))) {
                continue;
            }
            out.add(SvgChart.render("chart-heatmap-" + index++, "heatmap", "FDT_75 per layer and component with "
                    + setting + " applied to that component alone.", ScanCharts.heatmap(scan, setting),
                    Math.max(420, 52 * ScanCharts.kinds(scan).size() + 170), 120 + 28 * rows));
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
