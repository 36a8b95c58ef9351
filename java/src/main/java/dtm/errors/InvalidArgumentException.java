package dtm.errors;

/**
 * The engine rejected an argument (status INVALID_ARGUMENT): a value out of range that Java
 * did not check itself. Java's own checks throw {@link IllegalArgumentException} or
 * {@link NullPointerException} instead.
 */
public class InvalidArgumentException extends DtmException {
    private static final long serialVersionUID = 1L;

    public InvalidArgumentException(int code, String context, String nativeMessage) {
        super(code, context, nativeMessage);
    }
}
