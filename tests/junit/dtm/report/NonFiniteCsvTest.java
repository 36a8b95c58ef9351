package dtm.report;

import dtm.metrics.Aggregates;
import dtm.metrics.MetricText;
import dtm.metrics.Summary;
import dtm.model.ComponentKind;
import dtm.scan.ScanCell;
import dtm.scan.SyntheticScans;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A non-finite figure reads NaN / nan in CSV and tables, a figure not measured an empty field. */
class NonFiniteCsvTest {
    private static ScanCell withKlAndPerplexity(ScanCell c, Summary kl, double tokenPerplexity) {
        Aggregates a = c.aggregates();
        Aggregates b = new Aggregates(a.fdt(), a.sdt(), a.sdtShare(), a.top1Agreement(), a.nll(), a.perplexity(),
                a.deltaP(), kl, a.tokens(), Math.log(tokenPerplexity), tokenPerplexity, a.identical());
        return new ScanCell(c.component(), c.kind(), c.layer(), c.parameters(), c.setting(), b, c.fdt75(), c.seconds());
    }

    @Test
    void nonFiniteIsNaNAndNotMeasuredIsEmpty() {
        ScanCell cell = SyntheticScans.cell(ComponentKind.DOWN_PROJ, 0, 100, "int8", 10, 10, 6, 2.0, 16);
        ScanCell nan = withKlAndPerplexity(cell, SyntheticScans.constant(8, Double.NaN), Double.NaN);
        ScanCell absent = withKlAndPerplexity(cell, Summary.absent(), Double.POSITIVE_INFINITY);
        String[] rows = ScanCsv.cells(List.of(nan, absent)).split("\n");
        List<String> header = List.of(rows[0].split(","));
        String[] first = rows[1].split(",", -1);
        String[] second = rows[2].split(",", -1);
        assertEquals("NaN", first[header.indexOf("token_perplexity")]);
        assertEquals("NaN", first[header.indexOf("kl_mean")]);
        assertEquals("Inf", second[header.indexOf("token_perplexity")]);
        assertEquals("", second[header.indexOf("kl_mean")]);
        assertEquals("nan", MetricText.table("%.3f", Double.NaN));
        assertEquals("-inf", MetricText.table("%.3f", Double.NEGATIVE_INFINITY));
        assertEquals("2.500", MetricText.table("%.3f", 2.5));
        assertEquals("-Inf", MetricText.csv(Double.NEGATIVE_INFINITY));
        assertEquals("0.25", MetricText.csv(0.25));
    }
}
