package dtm.errors;

/**
 * The engine's status codes ({@code dtm_status} in {@code dtm.h}), with the exception each
 * failure becomes in Java.
 */
public enum Status {
    OK(0),
    INVALID_ARGUMENT(1),
    IO(2),
    MODEL_FORMAT(3),
    TOKENIZER_FORMAT(4),
    TOKEN_OUT_OF_RANGE(5),
    CONTEXT_OVERFLOW(6),
    OUT_OF_MEMORY(7),
    BUFFER_TOO_SMALL(8),
    UNSUPPORTED(9),
    NON_FINITE(10),
    INTERNAL(99),
    /** A code this version of the Java side does not know (a newer engine). */
    UNKNOWN(-1);

    private final int code;

    Status(int code) {
        this.code = code;
    }

    /** The C value. */
    public int code() {
        return code;
    }

    /** The status with this C value; {@link #UNKNOWN} for a value not listed here. */
    public static Status of(int code) {
        for (Status s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return UNKNOWN;
    }
}
