package dtm.report;

import dtm.model.ComponentKind;
import dtm.model.Compression;
import dtm.scan.Int8Search;
import dtm.scan.Int8Selection;
import dtm.scan.PlanOutcome;
import dtm.scan.RankAgreement;
import dtm.scan.ScanCell;
import dtm.scan.ScanResult;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYLineAnnotation;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.LookupPaintScale;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.DoubleFunction;

/**
 * The charts of the scan report (docs/report.md), built with JFreeChart from a scan and the
 * plans' outcomes: the FDT_75 heatmap per setting, FDT_75 and SDT against sparsity per
 * component type, rank by FDT against rank by perplexity, the plans against their baselines,
 * the sparsity each pruning plan gives each component, and the int8 searches' prefix curve.
 */
public final class ScanCharts {
    /** Colour stops of the FDT scale, from FDT 0 (red) through yellow to N (green). */
    private static final Color[] STOPS = {new Color(0xb2182b), new Color(0xf46d43), new Color(0xfee08b),
        new Color(0xa6d96a), new Color(0x1a9850)};
    /** Bins of the heatmap's colour scale. */
    private static final int BINS = 10;
    private static final Color GRID = new Color(0xdddddd);

    private ScanCharts() {}

    /** Short label of a component type, e.g. "down_proj", "lm_head". */
    public static String kindLabel(ComponentKind kind) {
        String hf = kind.hfName();
        return hf.substring(hf.lastIndexOf('.') + 1);
    }

    /** The component types present in the scan, in {@link ComponentKind} order. */
    static List<ComponentKind> kinds(ScanResult scan) {
        List<ComponentKind> out = new ArrayList<>();
        for (ComponentKind k : ComponentKind.values()) {
            if (scan.cells().stream().anyMatch(c -> c.kind() == k)) {
                out.add(k);
            }
        }
        return out;
    }

    /**
     * FDT_75 of every cell of one setting on a grid of layer (rows, the head on top) × component
     * type (columns), coloured from 0 (red) to N (green) and labelled with the value. Cells the
     * scan lacks stay blank.
     */
    public static JFreeChart heatmap(ScanResult scan, String setting) {
        Map<String, Double> fdt = new LinkedHashMap<>();
        for (ScanCell c : scan.cells()) {
            if (c.setting().equals(setting)) {
                fdt.put(c.component(), (double) c.fdt75());
            }
        }
        NumberAxis legend = new NumberAxis("FDT_75 (N = " + scan.n() + ")");
        legend.setRange(0, scan.n());
        return grid(scan, "FDT_75, " + setting, fdt, fdtScale(scan.n()), v -> Long.toString(Math.round(v)), legend);
    }

    /**
     * The sparsity a plan gives each component, on the heatmap's grid of layer × component type,
     * white (0) to dark blue (1), labelled in percent. Components absent from {@code sparsity}
     * stay blank.
     */
    public static JFreeChart allocation(ScanResult scan, String title, Map<String, Double> sparsity) {
        LookupPaintScale scale = new LookupPaintScale(0, 1.000001, Color.LIGHT_GRAY);
        for (int b = 0; b < BINS; b++) {
            scale.add((double) b / BINS, blueAt((b + 0.5) / BINS));
        }
        NumberAxis legend = new NumberAxis("sparsity");
        legend.setRange(0, 1);
        return grid(scan, title, sparsity, scale, v -> Long.toString(Math.round(100 * v)), legend);
    }

    /**
     * One value per component on a grid of layer (rows, the head on top) × component type
     * (columns), placed by the scan's cells of that component, coloured by {@code scale} and
     * labelled with {@code label} of the value.
     */
    private static JFreeChart grid(ScanResult scan, String title, Map<String, Double> values, LookupPaintScale scale,
                                   DoubleFunction<String> label, NumberAxis legendAxis) {
        List<ComponentKind> kinds = kinds(scan);
        int layers = scan.cells().stream().mapToInt(ScanCell::layer).max().orElse(-1) + 1;
        boolean head = scan.cells().stream().anyMatch(c -> c.layer() < 0);
        String[] rows = new String[layers + (head ? 1 : 0)];
        for (int i = 0; i < layers; i++) {
            rows[i] = Integer.toString(i);
        }
        if (head) {
            rows[layers] = "head";
        }
        String[] columns = kinds.stream().map(ScanCharts::kindLabel).toArray(String[]::new);
        Map<String, ScanCell> placed = new LinkedHashMap<>();  // component → a cell of it: its layer and type
        for (ScanCell c : scan.cells()) {
            if (values.containsKey(c.component())) {
                placed.putIfAbsent(c.component(), c);
            }
        }
        List<ScanCell> cells = new ArrayList<>(placed.values());
        double[][] xyz = new double[3][cells.size()];
        for (int i = 0; i < cells.size(); i++) {
            ScanCell c = cells.get(i);
            xyz[0][i] = kinds.indexOf(c.kind());
            xyz[1][i] = c.layer() < 0 ? layers : c.layer();
            xyz[2][i] = values.get(c.component());
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("values", xyz);
        XYBlockRenderer renderer = new XYBlockRenderer();
        renderer.setPaintScale(scale);
        SymbolAxis x = new SymbolAxis("component", columns);
        SymbolAxis y = new SymbolAxis("layer", rows);
        for (SymbolAxis axis : List.of(x, y)) {
            axis.setGridBandsVisible(false);
        }
        x.setTickLabelFont(x.getTickLabelFont().deriveFont(11f));
        XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        plot.setAxisOffset(RectangleInsets.ZERO_INSETS);
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
        for (int i = 0; i < cells.size(); i++) {
            XYTextAnnotation text = new XYTextAnnotation(label.apply(xyz[2][i]), xyz[0][i], xyz[1][i]);
            text.setFont(font);
            text.setPaint(textOn((Color) scale.getPaint(xyz[2][i])));
            plot.addAnnotation(text);
        }
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT.deriveFont(14f), plot, false);
        PaintScaleLegend legend = new PaintScaleLegend(scale, legendAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setMargin(new RectangleInsets(8, 8, 8, 8));
        legend.setStripWidth(12);
        chart.addSubtitle(legend);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /**
     * The int8 searches' prefix curve: combined FDT_75 of every prefix the searches evaluated
     * against the share of the scanned parameters in naive int8, one line per order (FDT-guided,
     * perplexity-ranked), the random-order baseline as one point, and the threshold dashed.
     */
    public static JFreeChart int8Prefixes(Int8Search.Comparison int8, int n) {
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(prefixSeries(Int8Search.GUIDED, int8.selection()));
        data.addSeries(prefixSeries(Int8Search.PERPLEXITY_RANKED, int8.perplexityRanked()));
        XYSeries random = new XYSeries(Int8Search.RANDOM_ORDER);
        for (PlanOutcome o : int8.outcomes()) {
            if (o.name().equals(Int8Search.RANDOM_ORDER)) {
                random.add(o.quantizedShare(), o.fdt75());
            }
        }
        data.addSeries(random);
        JFreeChart chart = ChartFactory.createXYLineChart("int8 prefixes: FDT_75 against the share in naive int8",
                "share of the scanned parameters in naive int8", "FDT_75 of the combined candidate (N = " + n + ")",
                data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        renderer.setSeriesStroke(0, new BasicStroke(2f));
        renderer.setSeriesStroke(1, new BasicStroke(2f));
        renderer.setSeriesLinesVisible(2, false);
        renderer.setSeriesPaint(0, STOPS[4]);
        renderer.setSeriesPaint(1, new Color(0x4575b4));
        renderer.setSeriesPaint(2, STOPS[0]);
        plot.setRenderer(renderer);
        int threshold = int8.selection().options().threshold();
        plot.addAnnotation(new XYLineAnnotation(0, threshold, 1, threshold, new BasicStroke(1f, BasicStroke.CAP_BUTT,
                BasicStroke.JOIN_MITER, 1f, new float[] {4f, 4f}, 0f), Color.GRAY));
        XYTextAnnotation label = new XYTextAnnotation("threshold " + threshold, 0.02, threshold);
        label.setTextAnchor(TextAnchor.BOTTOM_LEFT);
        label.setPaint(Color.GRAY);
        plot.addAnnotation(label);
        ((NumberAxis) plot.getRangeAxis()).setRange(0, n);
        ((NumberAxis) plot.getDomainAxis()).setRange(0, 1);
        style(chart);
        return chart;
    }

    /** The prefixes one int8 search evaluated, by their share in naive int8. */
    private static XYSeries prefixSeries(String name, Int8Selection selection) {
        XYSeries series = new XYSeries(name);  // sorted by x: the evaluation order does not matter
        for (Int8Search.PrefixCheck c : selection.checks()) {
            series.add(c.outcome().quantizedShare(), c.outcome().fdt75());
        }
        return series;
    }

    /** The pruning settings of the scan grouped by method ("magnitude", "wanda", "n:m"), in scan order. */
    static Map<String, List<String>> pruningSettings(ScanResult scan) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (String s : scan.settings()) {
            Compression c = Compression.parse(s);
            if (c.kind().isPruning()) {
                out.computeIfAbsent(c.kind().label(), k -> new ArrayList<>()).add(s);
            }
        }
        return out;
    }

    /**
     * FDT_75 (or mean SDT) against sparsity for one pruning method: one line per component type,
     * each point the mean over the layers' cells; the point at sparsity 0 is the base itself
     * (FDT = N, SDT = 0 by definition, DESIGN.md §1).
     *
     * @param sdt false: FDT_75; true: mean SDT
     */
    public static JFreeChart againstSparsity(ScanResult scan, String method, List<String> settings, boolean sdt) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (ComponentKind kind : kinds(scan)) {
            TreeMap<Double, double[]> sums = new TreeMap<>();  // sparsity → {sum, count}
            for (String s : settings) {
                double sparsity = Compression.parse(s).sparsity();
                for (ScanCell c : scan.cells()) {
                    if (c.kind() == kind && c.setting().equals(s)) {
                        double[] acc = sums.computeIfAbsent(sparsity, k -> new double[2]);
                        acc[0] += sdt ? c.aggregates().sdt().mean() : c.fdt75();
                        acc[1]++;
                    }
                }
            }
            if (sums.isEmpty()) {
                continue;
            }
            XYSeries series = new XYSeries(kindLabel(kind));
            series.add(0.0, sdt ? 0.0 : scan.n());
            sums.forEach((sparsity, acc) -> series.add((double) sparsity, acc[0] / acc[1]));
            data.addSeries(series);
        }
        String what = sdt ? "mean SDT" : "FDT_75";
        JFreeChart chart = ChartFactory.createXYLineChart(what + " against sparsity, " + method,
                "sparsity (" + method + ")", what + " (mean over layers)", data, PlotOrientation.VERTICAL, true, false,
                false);
        XYPlot plot = chart.getXYPlot();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < data.getSeriesCount(); i++) {
            renderer.setSeriesStroke(i, new BasicStroke(2f));
        }
        plot.setRenderer(renderer);
        ((NumberAxis) plot.getRangeAxis()).setRange(0, scan.n());
        ((NumberAxis) plot.getDomainAxis()).setRange(0, 1);
        style(chart);
        return chart;
    }

    /**
     * Each component of one setting at (rank by FDT_75, rank by perplexity), with the diagonal
     * where the two rankings agree, and Kendall's τ_b in the title.
     */
    public static JFreeChart rankScatter(RankAgreement r) {
        XYSeries points = new XYSeries("components");
        for (int i = 0; i < r.components().size(); i++) {
            points.add(r.fdtRanks().get(i), r.perplexityRanks().get(i));
        }
        XYSeriesCollection data = new XYSeriesCollection(points);
        JFreeChart chart = ChartFactory.createScatterPlot(r.setting() + ": Kendall's τ_b = " + tauText(r.kendallTauB()),
                "rank by FDT_75 (1 = least harmed)", "rank by perplexity (1 = least harmed)", data,
                PlotOrientation.VERTICAL, false, false, false);
        XYPlot plot = chart.getXYPlot();
        double n = r.components().size();
        plot.addAnnotation(new XYLineAnnotation(1, 1, n, n, new BasicStroke(1f, BasicStroke.CAP_BUTT,
                BasicStroke.JOIN_MITER, 1f, new float[] {4f, 4f}, 0f), Color.GRAY));
        for (NumberAxis axis : List.of((NumberAxis) plot.getDomainAxis(), (NumberAxis) plot.getRangeAxis())) {
            axis.setRange(0.5, n + 0.5);
        }
        style(chart);
        return chart;
    }

    /** Kendall's τ_b for people: two decimals, or "undefined (ties)". */
    public static String tauText(double tau) {
        return Double.isNaN(tau) ? "undefined (one ranking all ties)" : String.format(Locale.ROOT, "%.2f", tau);
    }

    /** FDT_75, mean FDT and mean SDT of each plan, side by side. */
    public static JFreeChart plans(List<PlanOutcome> outcomes, int n) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (PlanOutcome o : outcomes) {
            data.addValue(o.fdt75(), "FDT_75", o.name());
            data.addValue(o.fdtMean(), "mean FDT", o.name());
            data.addValue(o.sdtMean(), "mean SDT", o.name());
        }
        JFreeChart chart = ChartFactory.createBarChart("Plans against baselines", "plan",
                "tokens (N = " + n + ")", data, PlotOrientation.VERTICAL, true, false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        BarRenderer renderer = (BarRenderer) plot.getRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setSeriesPaint(0, STOPS[4]);
        renderer.setSeriesPaint(1, new Color(0x4575b4));
        renderer.setSeriesPaint(2, STOPS[0]);
        ((NumberAxis) plot.getRangeAxis()).setRange(0, n);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(GRID);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /** The heatmap's colour scale: {@value #BINS} bins from 0 to N, red to green. */
    static LookupPaintScale fdtScale(int n) {
        LookupPaintScale scale = new LookupPaintScale(0, n, Color.LIGHT_GRAY);
        for (int b = 0; b < BINS; b++) {
            scale.add((double) n * b / BINS, colourAt((b + 0.5) / BINS));
        }
        return scale;
    }

    /** The colour at position {@code p} in [0, 1] along {@link #STOPS}, interpolated linearly in RGB. */
    static Color colourAt(double p) {
        double scaled = Math.max(0, Math.min(1, p)) * (STOPS.length - 1);
        int i = Math.min((int) scaled, STOPS.length - 2);
        return mix(STOPS[i], STOPS[i + 1], scaled - i);
    }

    /** The colour at {@code p} in [0, 1] from white to dark blue (the sparsity scale). */
    static Color blueAt(double p) {
        return mix(Color.WHITE, new Color(0x08306b), Math.max(0, Math.min(1, p)));
    }

    /** {@code a} and {@code b} mixed linearly in RGB, {@code f} = 0 giving a, 1 giving b. */
    private static Color mix(Color a, Color b, double f) {
        return new Color((int) Math.round(a.getRed() + f * (b.getRed() - a.getRed())),
                (int) Math.round(a.getGreen() + f * (b.getGreen() - a.getGreen())),
                (int) Math.round(a.getBlue() + f * (b.getBlue() - a.getBlue())));
    }

    /** Black or white, whichever reads better on {@code background} (relative luminance). */
    private static Color textOn(Color background) {
        double luminance = 0.2126 * background.getRed() + 0.7152 * background.getGreen()
                + 0.0722 * background.getBlue();
        return luminance > 140 ? Color.BLACK : Color.WHITE;
    }

    private static void style(JFreeChart chart) {
        chart.setBackgroundPaint(Color.WHITE);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(GRID);
        plot.setRangeGridlinePaint(GRID);
    }
}
