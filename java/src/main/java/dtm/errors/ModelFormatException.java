package dtm.errors;

/**
 * A model or tokenizer file is truncated, foreign or inconsistent (status MODEL_FORMAT or
 * TOKENIZER_FORMAT; {@link #status()} tells which). The message is the engine's, naming what
 * did not fit.
 */
public class ModelFormatException extends DtmException {
    private static final long serialVersionUID = 1L;

    public ModelFormatException(int code, String context, String nativeMessage) {
        super(code, context, nativeMessage);
    }
}
