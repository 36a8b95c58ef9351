package dtm.errors;

/**
 * A sequence, or a prompt plus the tokens to generate, is longer than the model's context
 * (status CONTEXT_OVERFLOW).
 */
public class ContextOverflowException extends DtmException {
    private static final long serialVersionUID = 1L;

    public ContextOverflowException(int code, String context, String nativeMessage) {
        super(code, context, nativeMessage);
    }

    /** Found by Java before any native call, e.g. a prompt longer than the context minus N. */
    public ContextOverflowException(String message) {
        super(Status.CONTEXT_OVERFLOW, message);
    }
}
