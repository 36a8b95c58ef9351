package dtm.reference;

/**
 * The header of a llama2.c checkpoint: seven int32 values (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len), where a negative vocab_size says that the classifier is
 * stored separately at the end of the file instead of being shared with the token embedding.
 *
 * <p>Here {@code vocabSize} is always positive and {@code sharedClassifier} carries the sign.
 */
public record Llama2cConfig(
        int dim,
        int hiddenDim,
        int nLayers,
        int nHeads,
        int nKvHeads,
        int vocabSize,
        int seqLen,
        boolean sharedClassifier) {

    /** Size of the header in bytes. */
    public static final int HEADER_BYTES = 7 * Integer.BYTES;

    public Llama2cConfig {
        requirePositive("dim", dim);
        requirePositive("hidden_dim", hiddenDim);
        requirePositive("n_layers", nLayers);
        requirePositive("n_heads", nHeads);
        requirePositive("n_kv_heads", nKvHeads);
        requirePositive("vocab_size", vocabSize);
        requirePositive("seq_len", seqLen);
        if (dim % nHeads != 0) {
            throw new IllegalArgumentException(
                    "dim " + dim + " is not a multiple of n_heads " + nHeads);
        }
        if (nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException(
                    "n_heads " + nHeads + " is not a multiple of n_kv_heads " + nKvHeads);
        }
        if ((dim / nHeads) % 2 != 0) {
            throw new IllegalArgumentException(
                    "head size " + dim / nHeads + " is odd; RoPE rotates pairs of dimensions");
        }
    }

    private static void requirePositive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, got " + value);
        }
    }

    /** Dimensions per attention head. */
    public int headSize() {
        return dim / nHeads;
    }

    /** Width of the key and value projections: n_kv_heads * head_size. */
    public int kvDim() {
        return nKvHeads * headSize();
    }

    /** Query heads that share one key/value head. */
    public int kvGroup() {
        return nHeads / nKvHeads;
    }

    /** The vocab_size field as stored in the header (negative for a separate classifier). */
    public int headerVocabSize() {
        return sharedClassifier ? vocabSize : -vocabSize;
    }
}
