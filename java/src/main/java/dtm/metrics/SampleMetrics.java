package dtm.metrics;

/**
 * The metrics of one sample (prompt x, reference continuation y_1..y_N) for one candidate.
 *
 * @param index        the sample's index in the prompt set
 * @param promptTokens tokens of its prompt, BOS included
 * @param n            N of this sample (shorter than the reference's N only when the base
 *                     stopped at EOS)
 * @param fdt          first divergent token: tokens the candidate reproduces before its first
 *                     different argmax; N if none
 * @param sdt          divergent tokens: positions whose argmax differs from y_i
 * @param nll          mean over i of −log p_F'(y_i)
 * @param deltaP       mean over i of p_F'(y_i) − p_F(y_i)
 * @param kl           mean over i of KL(F || F') (see the result's {@link KlMode}; NaN for NONE)
 */
public record SampleMetrics(int index, int promptTokens, int n, int fdt, int sdt, double nll, double deltaP,
                            double kl) {
    public SampleMetrics {
        if (n < 1) {
            throw new IllegalArgumentException("sample " + index + ": N must be >= 1, got " + n);
        }
        if (fdt < 0 || fdt > n || sdt < 0 || sdt > n || (fdt == n) != (sdt == 0)) {
            throw new IllegalArgumentException("sample " + index + ": inconsistent FDT " + fdt + ", SDT " + sdt
                    + " for N = " + n);
        }
    }

    /** SDT / N. */
    public double sdtShare() {
        return (double) sdt / n;
    }

    /** 1 − SDT share: the share of positions whose argmax is y_i. */
    public double top1Agreement() {
        return 1.0 - sdtShare();
    }

    /** exp(nll): the perplexity of y under the candidate. */
    public double perplexity() {
        return Math.exp(nll);
    }

    /** Whether the candidate reproduces the whole continuation (FDT = N). */
    public boolean identical() {
        return fdt == n;
    }
}
