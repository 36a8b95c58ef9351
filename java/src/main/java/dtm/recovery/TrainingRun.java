package dtm.recovery;

/**
 * What one recovery training did.
 *
 * @param tokens         token positions trained on
 * @param optimizerSteps AdamW steps taken
 * @param seconds        wall time of the training steps (loading weights and handing them back
 *                       to the engine not counted)
 * @param firstLoss      the KL loss (nats per token) of the first batch, before any update
 * @param lastLoss       the loss of the last batch
 */
public record TrainingRun(long tokens, int optimizerSteps, double seconds, double firstLoss, double lastLoss) {
    /** Training throughput: token positions per second. */
    public double tokensPerSecond() {
        return seconds > 0 ? tokens / seconds : Double.NaN;
    }
}
