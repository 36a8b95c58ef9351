package dtm.errors;

/**
 * A bug in dtm (status INTERNAL, or a status this side does not expect): please report it with
 * the message.
 */
public class InternalEngineException extends DtmException {
    private static final long serialVersionUID = 1L;

    public InternalEngineException(int code, String context, String nativeMessage) {
        super(code, context, nativeMessage);
    }
}
