package dtm.metrics;

import java.util.List;
import java.util.Objects;

/**
 * The aggregates of an evaluation over its samples (DESIGN §1).
 *
 * @param fdt             FDT per sample
 * @param sdt             SDT per sample
 * @param sdtShare        SDT / N per sample
 * @param top1Agreement   1 − SDT share per sample
 * @param nll             mean NLL of y per sample
 * @param perplexity      exp(NLL) per sample
 * @param deltaP          mean Δp per sample
 * @param kl              mean KL per sample ({@link Summary#absent()} when the KL mode is NONE)
 * @param tokens          continuation tokens, all samples
 * @param tokenNll        mean NLL over all continuation tokens (token-weighted)
 * @param tokenPerplexity exp(tokenNll)
 * @param identical       samples with FDT = N (the candidate reproduces the whole continuation)
 */
public record Aggregates(Summary fdt, Summary sdt, Summary sdtShare, Summary top1Agreement, Summary nll,
                         Summary perplexity, Summary deltaP, Summary kl, long tokens, double tokenNll,
                         double tokenPerplexity, int identical) {

    /** Every summary is given (a checkpoint line that lacks one is refused as it is read). */
    public Aggregates {
        Objects.requireNonNull(fdt, "fdt");
        Objects.requireNonNull(sdt, "sdt");
        Objects.requireNonNull(sdtShare, "sdtShare");
        Objects.requireNonNull(top1Agreement, "top1Agreement");
        Objects.requireNonNull(nll, "nll");
        Objects.requireNonNull(perplexity, "perplexity");
        Objects.requireNonNull(deltaP, "deltaP");
        Objects.requireNonNull(kl, "kl");
    }

    /**
     * The aggregates of these samples, evaluated in {@code klMode}: with {@link KlMode#NONE} the
     * KL is {@link Summary#absent()}; otherwise a NaN in any sample's metric (a candidate that
     * computes non-finite values) makes that metric's figures NaN.
     */
    public static Aggregates of(List<SampleMetrics> samples, KlMode klMode) {
        Objects.requireNonNull(samples, "samples");
        Objects.requireNonNull(klMode, "klMode");
        int n = samples.size();
        double[] fdt = new double[n];
        double[] sdt = new double[n];
        double[] share = new double[n];
        double[] agree = new double[n];
        double[] nll = new double[n];
        double[] ppl = new double[n];
        double[] dp = new double[n];
        double[] kl = new double[n];
        long tokens = 0;
        double nllSum = 0;
        int identical = 0;
        for (int i = 0; i < n; i++) {
            SampleMetrics s = samples.get(i);
            fdt[i] = s.fdt();
            sdt[i] = s.sdt();
            share[i] = s.sdtShare();
            agree[i] = s.top1Agreement();
            nll[i] = s.nll();
            ppl[i] = s.perplexity();
            dp[i] = s.deltaP();
            kl[i] = s.kl();
            tokens += s.n();
            nllSum += s.nll() * s.n();
            identical += s.identical() ? 1 : 0;
        }
        double tokenNll = tokens == 0 ? Double.NaN : nllSum / tokens;
        Summary klSummary = klMode == KlMode.NONE ? Summary.absent() : Summary.of(kl);
        return new Aggregates(Summary.of(fdt), Summary.of(sdt), Summary.of(share), Summary.of(agree),
                Summary.of(nll), Summary.of(ppl), Summary.of(dp), klSummary, tokens, tokenNll,
                Math.exp(tokenNll), identical);
    }
}
