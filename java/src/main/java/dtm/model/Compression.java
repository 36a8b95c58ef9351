package dtm.model;

import dtm.bindings.Dtm;

import java.util.Locale;
import java.util.Objects;

/**
 * One compression of one component ({@code dtm_compression}; DESIGN.md §2). A compression starts
 * from the component's current effective weights, so compressions compose: pruning in steps adds
 * sparsity on top of an existing mask, pruning then quantizing keeps the zeros.
 *
 * <p>The short text form ({@link #toString()}, {@link #parse}) is what plans and the CLI use:
 * {@code magnitude:0.5}, {@code wanda:0.5}, {@code 2:4} (any {@code n:m}), {@code int8},
 * {@code int8-outlier} or {@code int8-outlier:6.0}, {@code int8-weight}, {@code q8_0}, {@code q4_0}.
 *
 * @param kind             what is done
 * @param sparsity         pruning (magnitude, Wanda): share of zero weights afterwards, in [0, 1]
 * @param n                N:M pruning: weights kept in each group
 * @param m                N:M pruning: group size
 * @param outlierThreshold LLM.int8(): |x| above it is an outlier feature
 */
public record Compression(Kind kind, double sparsity, int n, int m, double outlierThreshold) {

    /** The kinds of compression ({@code dtm_compression_kind}). */
    public enum Kind {
        MAGNITUDE(Dtm.DTM_COMPRESS_PRUNE_MAGNITUDE, "magnitude"),
        N_M(Dtm.DTM_COMPRESS_PRUNE_N_M, "n:m"),
        WANDA(Dtm.DTM_COMPRESS_PRUNE_WANDA, "wanda"),
        INT8(Dtm.DTM_COMPRESS_INT8, "int8"),
        INT8_OUTLIER(Dtm.DTM_COMPRESS_INT8_OUTLIER, "int8-outlier"),
        INT8_WEIGHT(Dtm.DTM_COMPRESS_INT8_WEIGHT, "int8-weight"),
        Q8_0(Dtm.DTM_COMPRESS_Q8_0, "q8_0"),
        Q4_0(Dtm.DTM_COMPRESS_Q4_0, "q4_0");

        private final int code;
        private final String label;

        Kind(int code, String label) {
            this.code = code;
            this.label = label;
        }

        /** The C value. */
        public int code() {
            return code;
        }

        /** The name in the text form. */
        public String label() {
            return label;
        }

        /** Whether it zeroes weights (magnitude, N:M, Wanda). */
        public boolean isPruning() {
            return this == MAGNITUDE || this == N_M || this == WANDA;
        }
    }

    /** LLM.int8()'s default outlier threshold. */
    public static final double DEFAULT_OUTLIER_THRESHOLD = 6.0;

    public Compression {
        Objects.requireNonNull(kind, "kind");
        if ((kind == Kind.MAGNITUDE || kind == Kind.WANDA) && !(sparsity >= 0 && sparsity <= 1)) {
            throw new IllegalArgumentException("sparsity must be in [0, 1], got " + sparsity);
        }
        if (kind == Kind.N_M && (n < 0 || m < 1 || n > m)) {
            throw new IllegalArgumentException("N:M pruning needs 0 <= n <= m and m >= 1, got " + n + ":" + m);
        }
        if (kind == Kind.INT8_OUTLIER && !(outlierThreshold >= 0 && Double.isFinite(outlierThreshold))) {
            throw new IllegalArgumentException("outlier threshold must be finite and >= 0, got " + outlierThreshold);
        }
    }

    /** Unstructured magnitude pruning of the whole matrix to the given sparsity. */
    public static Compression magnitude(double sparsity) {
        return new Compression(Kind.MAGNITUDE, sparsity, 0, 0, 0);
    }

    /** Wanda pruning (|w|·‖x‖ per output row) to the given sparsity; needs a {@link Calibration}. */
    public static Compression wanda(double sparsity) {
        return new Compression(Kind.WANDA, sparsity, 0, 0, 0);
    }

    /** N:M pruning: keep the n largest of every m consecutive weights of a row. */
    public static Compression nOfM(int n, int m) {
        return new Compression(Kind.N_M, 1.0 - (double) n / m, n, m, 0);
    }

    /** Naive int8 W8A8. */
    public static Compression int8() {
        return new Compression(Kind.INT8, 0, 0, 0, 0);
    }

    /** LLM.int8() with the given outlier threshold. */
    public static Compression int8Outlier(double threshold) {
        return new Compression(Kind.INT8_OUTLIER, 0, 0, 0, threshold);
    }

    /** int8 weight-only, per row. */
    public static Compression int8WeightOnly() {
        return new Compression(Kind.INT8_WEIGHT, 0, 0, 0, 0);
    }

    /** llama.cpp's q8_0 blocks. */
    public static Compression q8_0() {
        return new Compression(Kind.Q8_0, 0, 0, 0, 0);
    }

    /** llama.cpp's q4_0 blocks. */
    public static Compression q4_0() {
        return new Compression(Kind.Q4_0, 0, 0, 0, 0);
    }

    /**
     * Parses the text form (see the class comment).
     *
     * @throws IllegalArgumentException for anything else, listing the forms that exist
     */
    public static Compression parse(String text) {
        Objects.requireNonNull(text, "text");
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.matches("\\d+:\\d+")) {
                String[] p = t.split(":");
                return nOfM(Integer.parseInt(p[0]), Integer.parseInt(p[1]));
            }
            int colon = t.indexOf(':');
            String name = colon < 0 ? t : t.substring(0, colon);
            String arg = colon < 0 ? null : t.substring(colon + 1);
            switch (name) {
                case "magnitude":
                    return magnitude(sparsityOf(arg, text));
                case "wanda":
                    return wanda(sparsityOf(arg, text));
                case "int8":
                    return noArgument(arg, text, int8());
                case "int8-outlier":
                    return int8Outlier(arg == null ? DEFAULT_OUTLIER_THRESHOLD : Double.parseDouble(arg));
                case "int8-weight":
                    return noArgument(arg, text, int8WeightOnly());
                case "q8_0":
                    return noArgument(arg, text, q8_0());
                case "q4_0":
                    return noArgument(arg, text, q4_0());
                default:
                    break;
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad number in compression '" + text + "'", e);
        }
        throw new IllegalArgumentException("unknown compression '" + text + "': use magnitude:S, wanda:S, N:M "
                + "(e.g. 2:4), int8, int8-outlier[:T], int8-weight, q8_0 or q4_0 (S a sparsity in [0, 1])");
    }

    private static double sparsityOf(String arg, String text) {
        if (arg == null) {
            throw new IllegalArgumentException("'" + text + "' needs a sparsity, e.g. magnitude:0.5");
        }
        return Double.parseDouble(arg);
    }

    private static Compression noArgument(String arg, String text, Compression c) {
        if (arg != null) {
            throw new IllegalArgumentException("'" + text + "' takes no argument");
        }
        return c;
    }

    /** The text form, e.g. "magnitude:0.5", "2:4", "int8-outlier:6.0". */
    @Override
    public String toString() {
        return switch (kind) {
            case MAGNITUDE, WANDA -> kind.label + ":" + sparsity;
            case N_M -> n + ":" + m;
            case INT8_OUTLIER -> kind.label + ":" + outlierThreshold;
            default -> kind.label;
        };
    }
}
