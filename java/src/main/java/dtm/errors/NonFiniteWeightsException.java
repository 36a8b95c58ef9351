package dtm.errors;

/**
 * A model's weights contain NaN or infinity (status NON_FINITE; only checked when asked for,
 * see {@code ModelOptions.checkFinite}).
 */
public class NonFiniteWeightsException extends DtmException {
    private static final long serialVersionUID = 1L;

    public NonFiniteWeightsException(int code, String context, String nativeMessage) {
        super(code, context, nativeMessage);
    }
}
