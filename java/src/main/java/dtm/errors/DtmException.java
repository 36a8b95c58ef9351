package dtm.errors;

import java.util.Objects;

/**
 * A call into the native engine failed. Every non-zero {@code dtm_status} becomes one of this
 * class's subclasses (see {@link #of}), carrying the status and the engine's own message
 * ({@code dtm_last_error()}).
 *
 * <p>Unchecked, like {@link IllegalArgumentException}: the engine's failures are the caller's
 * bad input or a broken file, not conditions that code must be forced to handle at each call.
 * Input that Java can check cheaply (null, an empty prompt, a negative count) fails earlier,
 * with {@link NullPointerException} or {@link IllegalArgumentException}.
 */
public class DtmException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Status status;
    private final int code;
    private final String nativeMessage;

    /**
     * @param code          the C status value
     * @param context       what was being done, e.g. "cannot load model /m/x.bin"; may be null
     * @param nativeMessage the engine's message; may be empty
     */
    public DtmException(int code, String context, String nativeMessage) {
        super(format(code, context, nativeMessage));
        this.code = code;
        this.status = Status.of(code);
        this.nativeMessage = Objects.requireNonNullElse(nativeMessage, "");
    }

    /**
     * A failure that Java detects itself, before or instead of a native call (e.g. a prompt
     * that cannot fit the context, a reference file that is corrupt). {@link #nativeMessage()}
     * is then empty.
     *
     * @param status  the kind of failure
     * @param message the whole message, naming the offending value
     */
    protected DtmException(Status status, String message) {
        super(Objects.requireNonNull(message, "message"));
        this.status = Objects.requireNonNull(status, "status");
        this.code = status.code();
        this.nativeMessage = "";
    }

    /** What failed, as the engine said it. */
    public Status status() {
        return status;
    }

    /** The C status value (useful when {@link #status()} is {@link Status#UNKNOWN}). */
    public int code() {
        return code;
    }

    /** The engine's message, without the Java context; may be empty. */
    public String nativeMessage() {
        return nativeMessage;
    }

    private static String format(int code, String context, String nativeMessage) {
        String what = (nativeMessage == null || nativeMessage.isEmpty())
                ? Status.of(code).name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')
                : nativeMessage;
        return (context == null || context.isEmpty()) ? what : context + ": " + what;
    }

    /**
     * The exception for a failed call: one subclass per kind of failure.
     *
     * <table>
     *   <caption>Status to exception</caption>
     *   <tr><td>INVALID_ARGUMENT</td><td>{@link InvalidArgumentException}</td></tr>
     *   <tr><td>IO</td><td>{@link DtmIoException}</td></tr>
     *   <tr><td>MODEL_FORMAT, TOKENIZER_FORMAT</td><td>{@link ModelFormatException}</td></tr>
     *   <tr><td>TOKEN_OUT_OF_RANGE</td><td>{@link TokenOutOfRangeException}</td></tr>
     *   <tr><td>CONTEXT_OVERFLOW</td><td>{@link ContextOverflowException}</td></tr>
     *   <tr><td>OUT_OF_MEMORY</td><td>{@link NativeOutOfMemoryException}</td></tr>
     *   <tr><td>UNSUPPORTED</td><td>{@link UnsupportedFeatureException}</td></tr>
     *   <tr><td>NON_FINITE</td><td>{@link NonFiniteWeightsException}</td></tr>
     *   <tr><td>INTERNAL, BUFFER_TOO_SMALL, unknown</td><td>{@link InternalEngineException}</td></tr>
     * </table>
     */
    public static DtmException of(int code, String context, String nativeMessage) {
        return switch (Status.of(code)) {
            case INVALID_ARGUMENT -> new InvalidArgumentException(code, context, nativeMessage);
            case IO -> new DtmIoException(code, context, nativeMessage);
            case MODEL_FORMAT, TOKENIZER_FORMAT -> new ModelFormatException(code, context, nativeMessage);
            case TOKEN_OUT_OF_RANGE -> new TokenOutOfRangeException(code, context, nativeMessage);
            case CONTEXT_OVERFLOW -> new ContextOverflowException(code, context, nativeMessage);
            case OUT_OF_MEMORY -> new NativeOutOfMemoryException(code, context, nativeMessage);
            case UNSUPPORTED -> new UnsupportedFeatureException(code, context, nativeMessage);
            case NON_FINITE -> new NonFiniteWeightsException(code, context, nativeMessage);
            // BUFFER_TOO_SMALL is handled inside the API (two-call pattern): seeing it here is a
            // bug, like INTERNAL; so is a status this side does not know.
            default -> new InternalEngineException(code, context, nativeMessage);
        };
    }
}
