package dtm.errors;

import dtm.bindings.Dtm;

/**
 * The engine's status codes ({@code dtm_status} in {@code dtm.h}), with the exception each
 * failure becomes in Java.
 */
public enum Status {
    OK(Dtm.DTM_OK),
    INVALID_ARGUMENT(Dtm.DTM_ERR_INVALID_ARGUMENT),
    IO(Dtm.DTM_ERR_IO),
    MODEL_FORMAT(Dtm.DTM_ERR_MODEL_FORMAT),
    TOKENIZER_FORMAT(Dtm.DTM_ERR_TOKENIZER_FORMAT),
    TOKEN_OUT_OF_RANGE(Dtm.DTM_ERR_TOKEN_OUT_OF_RANGE),
    CONTEXT_OVERFLOW(Dtm.DTM_ERR_CONTEXT_OVERFLOW),
    OUT_OF_MEMORY(Dtm.DTM_ERR_OUT_OF_MEMORY),
    BUFFER_TOO_SMALL(Dtm.DTM_ERR_BUFFER_TOO_SMALL),
    UNSUPPORTED(Dtm.DTM_ERR_UNSUPPORTED),
    NON_FINITE(Dtm.DTM_ERR_NON_FINITE),
    INTERNAL(Dtm.DTM_ERR_INTERNAL),
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
