package dtm.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dtm.compress.Plan;
import dtm.scan.ScanResult;
import dtm.scan.TextSample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scan report from a synthetic scan: its charts are inline SVG with the expected titles, it
 * references nothing outside itself, and its JSON and CSV hold the same data.
 */
class ScanReportTest {
    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void pageHoldsEveryChartAsInlineSvg() {
        ReportInput input = SampleReports.input();
        String html = HtmlReport.render(input);
        // 1 plans chart, 4 heatmaps (one per setting), FDT and SDT curves for magnitude and wanda, 4 rank charts.
        assertEquals(1 + 4 + 2 * 2 + 4, count(html, "<svg"));
        assertEquals(count(html, "<svg"), count(html, "</svg>"));
        assertEquals(1, count(html, "data-chart=\"plans\""));
        assertEquals(4, count(html, "data-chart=\"heatmap\""));
        assertEquals(2, count(html, "data-chart=\"fdt-curve\""));
        assertEquals(2, count(html, "data-chart=\"sdt-curve\""));
        assertEquals(4, count(html, "data-chart=\"rank\""));
        // Chart titles are drawn as SVG text.
        for (String title : List.of("FDT_75, magnitude:0.5", "FDT_75, int8", "FDT_75 against sparsity, magnitude",
                "mean SDT against sparsity, wanda", "int8: Kendall", "Plans against baselines")) {
            assertTrue(html.contains(title), title);
        }
        // Axis labels of the heatmap: component types and the head's row.
        assertTrue(html.contains(">down_proj<") && html.contains(">head<"), "heatmap axis labels");
        // The plan table, with the size against fp32 (30,000,000 / 60,816,028 = 49.3 %).
        assertTrue(html.contains("<td class=\"text\">uniform magnitude</td>"));
        assertTrue(html.contains("49.3 %"));
        // Metadata is escaped.
        assertTrue(html.contains("synthetic data &lt;for tests&gt; &amp; &quot;quotes&quot;"));
        // Without the searches' details there is no allocation map or prefix curve, and no samples.
        assertEquals(0, count(html, "id=\"allocation\"") + count(html, "id=\"int8-prefixes\"")
                + count(html, "id=\"samples\""));
    }

    @Test
    void textSamplesMarkTheFirstDivergentTokenAndAreEscaped() {
        ReportInput plain = SampleReports.input();
        TextSample diverging = new TextSample("the sample at FDT_75", 4, 2, "Tom & <Sue>", List.of(" a", " b", " c", " d"),
                List.of(" a", " b", " <x>", " y"));
        TextSample same = new TextSample("the sample at the median FDT", 7, 2, "p", List.of(" a", " b"), List.of(" a", " b"));
        TextSample eos = new TextSample("the earliest divergence", 9, 1, "q", List.of(" a", " b"), List.of(" a", ""));
        ReportInput input = new ReportInput(plain.title(), plain.scan(), plain.outcomes(), null, null,
                Map.of("FDT-guided", List.of(diverging, same, eos)), plain.fp32Bytes(), plain.metadata());
        String html = HtmlReport.render(input);
        assertTrue(html.contains("<td class=\"text prompt\">Tom &amp; &lt;Sue&gt;</td>"), "the prompt, escaped");
        assertTrue(html.contains(" a b<mark> c</mark><span class=\"after\"> d</span>"), "base side");
        assertTrue(html.contains(" a b<mark> &lt;x&gt;</mark><span class=\"after\"> y</span>"), "candidate side");
        assertTrue(html.contains("sample 7, FDT 2 of 2</td><td class=\"text prompt\">p</td><td class=\"text\"> a b</td>"),
                "a sample without divergence has nothing marked");
        assertTrue(html.contains(" a<mark>⟨no text⟩</mark>"), "a divergent token without text (EOS) still shows");
        assertEquals(2 + 2 + 1, count(html, "<mark>"), "two sides of two divergent samples, and the note's example");
        ReportInput none = new ReportInput(plain.title(), plain.scan(), plain.outcomes(), null, null,
                Map.of("FDT-guided", List.of()), plain.fp32Bytes(), plain.metadata());
        assertFalse(HtmlReport.render(none).contains("id=\"samples\""), "no section without samples");
    }

    @Test
    void pageReferencesNothingOutsideItself() {
        String html = HtmlReport.render(SampleReports.input());
        String lower = html.toLowerCase(java.util.Locale.ROOT);
        for (String forbidden : List.of("<script", "<link", "<img", "<iframe", "@import", "url(http", "src=")) {
            assertFalse(lower.contains(forbidden), forbidden);
        }
        // The only URLs are XML namespace names (identifiers, never fetched).
        String withoutNamespaces = html.replaceAll("xmlns(:\\w+)?=([\"'])[^\"']*\\2", "");
        assertFalse(withoutNamespaces.contains("http://"), "an http:// reference");
        assertFalse(withoutNamespaces.contains("https://"), "an https:// reference");
    }

    @Test
    void elementIdsAreUniqueAcrossCharts() {
        String html = HtmlReport.render(SampleReports.input());
        Matcher m = Pattern.compile(" id=[\"']([^\"']+)[\"']").matcher(html);
        Set<String> ids = new HashSet<>();
        int n = 0;
        while (m.find()) {
            n++;
            assertTrue(ids.add(m.group(1)), "duplicate id " + m.group(1));
        }
        assertTrue(n > 13, "ids: " + n);  // the charts and their clip paths
    }

    @Test
    void filesHoldTheSameDataAsJsonAndCsv(@TempDir Path dir) throws IOException {
        ReportInput input = SampleReports.input();
        ScanResult scan = input.scan();
        ReportFiles files = ReportWriter.write(dir.resolve("report"), input);
        // Twice: the second run replaces the files.
        files = ReportWriter.write(dir.resolve("report"), input);
        try (Stream<Path> list = Files.list(dir.resolve("report"))) {
            assertEquals(List.of("report.html", "scan-cells.csv", "scan-plans.csv", "scan.json"),
                    list.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file left");
        }
        JsonNode json = new ObjectMapper().readTree(Files.readString(files.json()));
        assertEquals("dtm.scan/1", json.path("schema").asText());
        assertEquals(100, json.path("n").asInt());
        assertEquals(scan.cells().size(), json.path("cells").size());
        JsonNode cell = json.path("cells").get(1);
        assertEquals(scan.cells().get(1).fdt75(), cell.path("fdt75").asInt());
        assertEquals(scan.cells().get(1).setting(), cell.path("setting").asText());
        assertEquals("lm_head", cell.path("kind").asText());
        assertEquals(8, cell.path("aggregates").path("fdt").path("count").asInt());
        assertEquals(4, json.path("rankAgreement").size());
        assertTrue(json.path("rankAgreement").get(0).path("kendallTauB").isNumber());
        assertEquals(3, json.path("plans").size());
        JsonNode plan = json.path("plans").get(1);
        assertEquals("uniform magnitude", plan.path("name").asText());
        assertEquals(30_000_000.0 / 60_816_028, plan.path("bytesVsFp32").asDouble(), 1e-15);
        assertTrue(plan.path("textPerplexity").isNumber());
        // The plan inside is a dtm.plan/1 object that reads back, evidence included.
        Plan back = Plan.fromJson(plan.path("plan").toString());
        assertEquals(input.outcomes().get(1).plan(), back);

        List<String> cells = Files.readAllLines(files.cellsCsv());
        assertEquals(ScanCsv.CELLS_HEADER, cells.get(0));
        assertEquals(scan.cells().size() + 1, cells.size());
        String[] first = cells.get(1).split(",");
        assertEquals(scan.cells().get(0).component(), first[0]);
        assertEquals(Integer.toString(scan.cells().get(0).fdt75()), first[5]);
        List<String> plans = Files.readAllLines(files.plansCsv());
        assertEquals(ScanCsv.PLANS_HEADER, plans.get(0));
        assertEquals(4, plans.size());
        assertTrue(plans.get(1).startsWith("FDT-guided,0.5,0.0,71,"), plans.get(1));
    }

    @Test
    void csvQuotesFieldsThatNeedIt() {
        assertEquals("plain", ScanCsv.field("plain"));
        assertEquals("\"a, b\"", ScanCsv.field("a, b"));
        assertEquals("\"say \"\"hi\"\"\"", ScanCsv.field("say \"hi\""));
    }

    @Test
    void undefinedTauAndMissingFiguresAreShownAsSuch() {
        ReportInput input = SampleReports.input();
        ScanResult scan = input.scan();
        // Only the int8 cells of the down projections, all at FDT_75 = N: τ_b undefined.
        List<dtm.scan.ScanCell> cells = scan.cells().stream().filter(c -> c.setting().equals("int8"))
                .map(c -> dtm.scan.SyntheticScans.cell(c.kind(), c.layer(), c.parameters(), "int8", 100, 100, 0,
                        2 + c.layer(), 100))
                .toList();
        ReportInput flat = new ReportInput("flat", new ScanResult("b", "r", 100, List.of("int8"), cells, 1), List.of(),
                0, java.util.Map.of());
        String html = HtmlReport.render(flat);
        assertTrue(html.contains("undefined (one ranking all ties)"));
        assertTrue(html.contains("No plan was evaluated"));
        assertTrue(html.contains("The scan has no pruning setting"));
        assertTrue(ScanJson.of(flat).path("rankAgreement").get(0).path("kendallTauB").isNull());
        assertTrue(ScanJson.of(flat).path("fp32Bytes").isNull());
    }
}
