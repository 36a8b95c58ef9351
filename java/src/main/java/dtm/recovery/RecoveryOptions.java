package dtm.recovery;

/**
 * How recovery training runs between pruning steps (DESIGN.md §3, docs/recovery.md): masked
 * fine-tuning that distils the base into the pruned model, KL(base ‖ candidate) on full
 * next-token distributions, with AdamW, a linear warm-up and a cosine decay to zero.
 *
 * @param tokensPerStep   token positions trained on per pruning step (each position's whole
 *                        next-token distribution is one term of the loss); 0 = no recovery
 * @param batchSequences  sequences per optimizer step
 * @param learningRate    AdamW's peak learning rate (reached after the warm-up)
 * @param warmupShare     share of the optimizer steps spent warming up linearly from 0, in [0, 1)
 * @param weightDecay     AdamW's decoupled weight decay
 * @param seed            orders the training sequences (the only randomness; step k of a
 *                        search uses seed + k − 1, {@link #forStep}): the same seed gives the
 *                        same weights on the same machine and thread count
 * @param threads         LibTorch's intra-op threads; 0 = all CPUs
 */
public record RecoveryOptions(long tokensPerStep, int batchSequences, double learningRate, double warmupShare,
                              double weightDecay, long seed, int threads) {
    /** Sequences per optimizer step unless told otherwise. */
    public static final int DEFAULT_BATCH_SEQUENCES = 8;
    /** The peak learning rate unless told otherwise. */
    public static final double DEFAULT_LEARNING_RATE = 2e-5;
    /** The warm-up share unless told otherwise. */
    public static final double DEFAULT_WARMUP_SHARE = 0.1;
    /** AdamW's weight decay unless told otherwise (LibTorch's default). */
    public static final double DEFAULT_WEIGHT_DECAY = 0.01;

    public RecoveryOptions {
        if (tokensPerStep < 0) {
            throw new IllegalArgumentException("recovery tokens per step must be >= 0 (0 = off), got " + tokensPerStep);
        }
        if (batchSequences < 1) {
            throw new IllegalArgumentException("recovery batch must be at least 1 sequence, got " + batchSequences);
        }
        if (!(learningRate > 0 && Double.isFinite(learningRate))) {
            throw new IllegalArgumentException("recovery learning rate must be a positive number, got " + learningRate);
        }
        if (!(warmupShare >= 0 && warmupShare < 1)) {
            throw new IllegalArgumentException("recovery warm-up share must be in [0, 1), got " + warmupShare);
        }
        if (!(weightDecay >= 0 && Double.isFinite(weightDecay))) {
            throw new IllegalArgumentException("recovery weight decay must be >= 0, got " + weightDecay);
        }
        if (threads < 0) {
            throw new IllegalArgumentException("recovery threads must be >= 0 (0 = all CPUs), got " + threads);
        }
    }

    /** {@code tokensPerStep} tokens a step with every other setting at its default. */
    public static RecoveryOptions of(long tokensPerStep, long seed, int threads) {
        return new RecoveryOptions(tokensPerStep, DEFAULT_BATCH_SEQUENCES, DEFAULT_LEARNING_RATE, DEFAULT_WARMUP_SHARE,
                DEFAULT_WEIGHT_DECAY, seed, threads);
    }

    /** Whether recovery is on (a budget above 0). */
    public boolean enabled() {
        return tokensPerStep > 0;
    }

    /** Optimizer steps for a budget: whole batches of {@code sequenceLength} tokens, at least one. */
    public int optimizerSteps(int sequenceLength) {
        long perStep = (long) batchSequences * sequenceLength;
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, (tokensPerStep + perStep - 1) / perStep));
    }

    /**
     * The learning rate of optimizer step {@code step} (0-based) of {@code steps}: linear from
     * lr/w to lr over the first w = ceil(warmupShare · steps) steps, then a cosine from lr towards
     * 0 over the d = steps − w others: lr · (1 + cos(π · i / d)) / 2 at the i-th of them (i from
     * 0), so every step learns (the last at lr · (1 − cos(π / d)) / 2 > 0).
     */
    public double learningRateAt(int step, int steps) {
        int warmup = (int) Math.ceil(warmupShare * steps);
        if (step < warmup) {
            return learningRate * (step + 1) / warmup;
        }
        int decay = steps - warmup;
        return learningRate * 0.5 * (1 + Math.cos(Math.PI * (step - warmup) / decay));
    }

    /**
     * These options for pruning step {@code step} (1 for the first): the batch order's seed is
     * seed + step − 1, so that successive steps train on different sequences of the set while
     * every plan's k-th step sees the same ones.
     */
    public RecoveryOptions forStep(int step) {
        if (step < 1) {
            throw new IllegalArgumentException("pruning steps count from 1, got " + step);
        }
        return new RecoveryOptions(tokensPerStep, batchSequences, learningRate, warmupShare, weightDecay,
                seed + step - 1, threads);
    }
}
