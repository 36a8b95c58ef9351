package dtm.scan;

import org.apache.commons.math3.stat.correlation.KendallsCorrelation;
import org.apache.commons.math3.stat.ranking.NaNStrategy;
import org.apache.commons.math3.stat.ranking.NaturalRanking;
import org.apache.commons.math3.stat.ranking.TiesStrategy;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How well perplexity ranks the components of one scan setting the way FDT does: the
 * components ranked by FDT_75 (rank 1 = highest, the least harmed) and by perplexity of y
 * (rank 1 = lowest), and Kendall's τ_b between the two (ties handled; Apache Commons Math's
 * {@link KendallsCorrelation}). τ_b = 1: perplexity orders the components exactly as FDT does;
 * 0: no relation; −1: reversed. τ_b is NaN (undefined) when one of the two orders is all ties,
 * e.g. every component keeps FDT_75 = N; so it is with fewer than two components.
 *
 * @param setting         the scan setting, e.g. "magnitude:0.5"
 * @param components      the components, in scan order
 * @param fdt75           their FDT_75
 * @param perplexity      their perplexity of y
 * @param fdtRanks        rank by FDT_75, ties averaged (1 = highest FDT_75)
 * @param perplexityRanks rank by perplexity, ties averaged (1 = lowest perplexity)
 * @param kendallTauB     Kendall's τ_b between FDT_75 and −perplexity
 */
public record RankAgreement(String setting, List<String> components, List<Integer> fdt75, List<Double> perplexity,
                            List<Double> fdtRanks, List<Double> perplexityRanks, double kendallTauB) {
    public RankAgreement {
        Objects.requireNonNull(setting, "setting");
        components = List.copyOf(components);
        fdt75 = List.copyOf(fdt75);
        perplexity = List.copyOf(perplexity);
        fdtRanks = List.copyOf(fdtRanks);
        perplexityRanks = List.copyOf(perplexityRanks);
    }

    /** The agreement of the cells of one setting (those with a finite perplexity). */
    public static RankAgreement of(ScanResult scan, String setting) {
        Objects.requireNonNull(scan, "scan");
        Objects.requireNonNull(setting, "setting");
        List<String> names = new ArrayList<>();
        List<Integer> fdt = new ArrayList<>();
        List<Double> ppl = new ArrayList<>();
        for (ScanCell c : scan.cells()) {
            double p = c.aggregates().tokenPerplexity();
            if (c.setting().equals(setting) && Double.isFinite(p)) {
                names.add(c.component());
                fdt.add(c.fdt75());
                ppl.add(p);
            }
        }
        int n = names.size();
        double[] negativeFdt = new double[n];   // rank 1 = the highest FDT_75
        double[] fdtValues = new double[n];
        double[] perplexities = new double[n];
        double[] negativePerplexity = new double[n];
        for (int i = 0; i < n; i++) {
            fdtValues[i] = fdt.get(i);
            negativeFdt[i] = -fdt.get(i);
            perplexities[i] = ppl.get(i);
            negativePerplexity[i] = -ppl.get(i);
        }
        NaturalRanking ranking = new NaturalRanking(NaNStrategy.FAILED, TiesStrategy.AVERAGE);
        double tau = n < 2 ? Double.NaN : new KendallsCorrelation().correlation(fdtValues, negativePerplexity);
        return new RankAgreement(setting, names, fdt, ppl, boxed(ranking.rank(negativeFdt)),
                boxed(ranking.rank(perplexities)), tau);
    }

    /** The agreement of every setting of the scan, in the scan's order of settings. */
    public static List<RankAgreement> all(ScanResult scan) {
        List<RankAgreement> out = new ArrayList<>();
        for (String s : scan.settings()) {
            out.add(of(scan, s));
        }
        return out;
    }

    private static List<Double> boxed(double[] values) {
        List<Double> out = new ArrayList<>(values.length);
        for (double v : values) {
            out.add(v);
        }
        return out;
    }
}
