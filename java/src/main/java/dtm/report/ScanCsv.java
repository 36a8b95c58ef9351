package dtm.report;

import dtm.metrics.Aggregates;
import dtm.metrics.MetricText;
import dtm.metrics.Summary;
import dtm.scan.PlanOutcome;
import dtm.scan.ScanCell;

import java.util.List;

/**
 * The tables of a scan report as CSV (RFC 4180: comma-separated, a header row, fields with a
 * comma, quote or line break quoted; numbers in Java's shortest round-trip form; NaN, Inf or -Inf
 * for a number that is not finite, an empty field for one not measured: KL without base
 * information, a plan's text perplexity when none was asked for, its size against an unknown
 * fp32 size): one row per scan cell, one row per plan outcome. The columns are those of
 * docs/json-schema.md's {@code dtm.scan/1}.
 */
public final class ScanCsv {
    /** The header of {@link #cells}. */
    public static final String CELLS_HEADER = "component,kind,layer,parameters,setting,fdt75,fdt_mean,fdt_median,"
            + "fdt_min,sdt_mean,sdt_share_mean,token_perplexity,kl_mean,identical_samples,seconds";
    /** The header of {@link #plans}. */
    public static final String PLANS_HEADER = "name,sparsity,quantized_share,fdt75,fdt_mean,sdt_mean,perplexity,"
            + "text_perplexity,bytes,bytes_vs_fp32,plan_entries,pruned_beyond_90_share,attention_pruned_beyond_90_share,"
            + "decoder_int8_share";

    private ScanCsv() {}

    /** One row per cell, in the scan's order. */
    public static String cells(List<ScanCell> cells) {
        StringBuilder out = new StringBuilder(CELLS_HEADER).append('\n');
        for (ScanCell c : cells) {
            Aggregates a = c.aggregates();
            row(out, field(c.component()), field(c.kind().hfName()), Integer.toString(c.layer()),
                    Long.toString(c.parameters()), field(c.setting()), Integer.toString(c.fdt75()),
                    number(a.fdt().mean()), number(a.fdt().median()), number(a.fdt().min()), number(a.sdt().mean()),
                    number(a.sdtShare().mean()), number(a.tokenPerplexity()), figure(a.kl(), a.kl().mean()),
                    Integer.toString(a.identical()), number(c.seconds()));
        }
        return out.toString();
    }

    /** One row per plan outcome, in the given order. */
    public static String plans(ReportInput input) {
        StringBuilder out = new StringBuilder(PLANS_HEADER).append('\n');
        for (PlanOutcome o : input.outcomes()) {
            row(out, field(o.name()), number(o.sparsity()), number(o.quantizedShare()), Integer.toString(o.fdt75()),
                    number(o.fdtMean()), number(o.sdtMean()), number(o.perplexity()),
                    Double.isNaN(o.textPerplexity()) ? "" : number(o.textPerplexity()),
                    Long.toString(o.bytes()), Double.isNaN(input.sizeVsFp32(o)) ? "" : number(input.sizeVsFp32(o)),
                    Integer.toString(o.plan().entries().size()), number(o.headline().prunedBeyond90()),
                    number(o.headline().attentionPrunedBeyond90()), number(o.headline().decoderInt8Share()));
        }
        return out.toString();
    }

    private static void row(StringBuilder out, String... fields) {
        out.append(String.join(",", fields)).append('\n');
    }

    private static String number(double v) {
        return MetricText.csv(v);
    }

    /** A summary's figure: empty when the metric was not measured (KL without base information). */
    private static String figure(Summary s, double v) {
        return s.measured() ? MetricText.csv(v) : "";
    }

    /** A text field, quoted when it holds a comma, a quote or a line break. */
    static String field(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }
}
