package dtm.metrics;

import java.util.Objects;

/**
 * Perplexity of a model on a text, in llama.cpp's convention (see {@link TextPerplexity}).
 *
 * @param model        the model, for people (its file)
 * @param context      n_ctx, tokens per window
 * @param textTokens   tokens of the whole text, BOS included
 * @param windows      windows scored (the incomplete tail is dropped)
 * @param scoredTokens tokens scored: windows × (n_ctx − n_ctx/2 − 1)
 * @param nll          mean negative log-likelihood per scored token (nats)
 * @param perplexity   exp(nll)
 * @param windowNll    mean NLL of each window (the array is the record's own; do not modify it)
 * @param seconds      wall time of the scoring
 */
public record PerplexityResult(String model, int context, int textTokens, int windows, long scoredTokens,
                               double nll, double perplexity, double[] windowNll, double seconds) {
    public PerplexityResult {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(windowNll, "windowNll");
        if (windowNll.length != windows) {
            throw new IllegalArgumentException(windows + " windows but " + windowNll.length + " window NLLs");
        }
    }

    /** Scored tokens per second. */
    public double tokensPerSecond() {
        return seconds > 0 ? scoredTokens / seconds : Double.NaN;
    }
}
