package dtm.errors;

/**
 * A token id is outside {@code [0, vocab_size)} (status TOKEN_OUT_OF_RANGE).
 */
public class TokenOutOfRangeException extends DtmException {
    private static final long serialVersionUID = 1L;

    public TokenOutOfRangeException(int code, String context, String nativeMessage) {
        super(code, context, nativeMessage);
    }
}
