package dtm.report;

import org.jfree.chart.JFreeChart;
import org.jfree.svg.SVGGraphics2D;
import org.jfree.svg.ViewBox;

import java.awt.geom.Rectangle2D;
import java.util.Objects;

/**
 * One chart drawn as an SVG element to inline into the HTML report (JFreeChart drawing onto
 * JFreeSVG's Graphics2D): no script, no external reference.
 *
 * @param id      the element's id, unique within the report; also the prefix of its clip-path
 *                and gradient ids, so that several charts can share one document
 * @param kind    what the chart shows: "heatmap", "fdt-curve", "sdt-curve", "rank", "plans",
 *                "allocation", "int8-prefixes"
 * @param caption the figure caption, for people
 * @param svg     the {@code <svg>} element
 */
public record SvgChart(String id, String kind, String caption, String svg) {
    public SvgChart {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(caption, "caption");
        Objects.requireNonNull(svg, "svg");
    }

    /** Draws {@code chart} at {@code width} × {@code height} pixels. */
    public static SvgChart render(String id, String kind, String caption, JFreeChart chart, int width, int height) {
        SVGGraphics2D g2 = new SVGGraphics2D(width, height);
        g2.setDefsKeyPrefix(id + "-");
        chart.draw(g2, new Rectangle2D.Double(0, 0, width, height));
        return new SvgChart(id, kind, caption, g2.getSVGElement(id, true, new ViewBox(0, 0, width, height), null,
                null));
    }
}
