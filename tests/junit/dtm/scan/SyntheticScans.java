package dtm.scan;

import dtm.metrics.Aggregates;
import dtm.metrics.Summary;
import dtm.model.ComponentKind;

/**
 * Scan cells made up for tests of the plan searches and the report: the aggregates hold the
 * given FDT, SDT and perplexity figures (each summary constant at its mean), nothing else.
 */
public final class SyntheticScans {
    private SyntheticScans() {}

    /** A summary whose every figure is {@code v}, over {@code count} values. */
    public static Summary constant(int count, double v) {
        return new Summary(count, v, v, v, v, v, v, v, v);
    }

    /** The name Hugging Face gives a component of a layer (the head for layer −1). */
    public static String name(ComponentKind kind, int layer) {
        return layer < 0 ? kind.hfName() : "model.layers." + layer + "." + kind.hfName();
    }

    /**
     * A cell of {@code samples} samples with N = {@code n}.
     *
     * @param fdtMean    mean FDT (every FDT summary figure)
     * @param sdtMean    mean SDT
     * @param perplexity token-weighted perplexity of y
     */
    public static ScanCell cell(ComponentKind kind, int layer, long parameters, String setting, int fdt75,
                                double fdtMean, double sdtMean, double perplexity, int n) {
        int samples = 8;
        Aggregates a = new Aggregates(constant(samples, fdtMean), constant(samples, sdtMean),
                constant(samples, sdtMean / n), constant(samples, 1 - sdtMean / n), constant(samples, Math.log(perplexity)),
                constant(samples, perplexity), constant(samples, 0), constant(samples, 0.01), (long) samples * n,
                Math.log(perplexity), perplexity, fdt75 == n ? samples : 0);
        return new ScanCell(name(kind, layer), kind, layer, parameters, setting, a, fdt75, 0.5);
    }
}
