package dtm.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * Teacher-forced scores of a batch of sequences, position by position, in flat arrays: the
 * entries of sequence s are {@code [offsets[s], offsets[s+1])}. Position p of a sequence holds
 * what the model predicts for position p+1. The arrays are the result's own; they are not
 * copied on access, so do not modify them.
 *
 * @param vocabSize   tokens in the vocabulary (the row length of {@code logits})
 * @param offsets     sequence starts, {@code sequenceCount() + 1} entries, the last = tokenCount()
 * @param argmax      most likely next token (ties to the lowest id)
 * @param logprobNext log p(next token of the sequence); NaN at each sequence's last position
 * @param logsumexp   log of the softmax normaliser of the logits
 * @param logits      all logits, row-major (tokenCount × vocabSize); null unless asked for
 */
public record ScoreResult(int vocabSize, int[] offsets, int[] argmax, float[] logprobNext,
                          float[] logsumexp, float[] logits) {
    public ScoreResult {
        Objects.requireNonNull(offsets, "offsets");
        Objects.requireNonNull(argmax, "argmax");
        Objects.requireNonNull(logprobNext, "logprobNext");
        Objects.requireNonNull(logsumexp, "logsumexp");
        if (offsets.length < 2 || offsets[0] != 0) {
            throw new IllegalArgumentException("offsets must start at 0 and name at least one sequence");
        }
        int n = offsets[offsets.length - 1];
        if (argmax.length != n || logprobNext.length != n || logsumexp.length != n) {
            throw new IllegalArgumentException("per-position arrays must have " + n + " entries");
        }
        if (logits != null && logits.length != (long) n * vocabSize) {
            throw new IllegalArgumentException("logits must have " + n + " x " + vocabSize + " entries");
        }
    }

    /** Sequences scored. */
    public int sequenceCount() {
        return offsets.length - 1;
    }

    /** Positions scored, all sequences together. */
    public int tokenCount() {
        return offsets[offsets.length - 1];
    }

    /** Index of sequence s's first position in the flat arrays. */
    public int start(int sequence) {
        return offsets[sequence];
    }

    /** Positions of sequence s. */
    public int length(int sequence) {
        return offsets[sequence + 1] - offsets[sequence];
    }

    /** Sequence s's argmax entries (a copy). */
    public int[] argmax(int sequence) {
        return Arrays.copyOfRange(argmax, offsets[sequence], offsets[sequence + 1]);
    }

    /** Sequence s's logprobNext entries (a copy). */
    public float[] logprobNext(int sequence) {
        return Arrays.copyOfRange(logprobNext, offsets[sequence], offsets[sequence + 1]);
    }

    /** Whether the logits were kept. */
    public boolean hasLogits() {
        return logits != null;
    }

    /** The logits at one flat position (a copy of one row). */
    public float[] logitsAt(int position) {
        if (logits == null) {
            throw new IllegalStateException("logits were not requested (score(..., true))");
        }
        Objects.checkIndex(position, tokenCount());
        int from = position * vocabSize;
        return Arrays.copyOfRange(logits, from, from + vocabSize);
    }
}
