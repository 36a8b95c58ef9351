package dtm.errors;

/**
 * A file could not be opened, mapped or read (status IO), e.g. a model path that does not
 * exist.
 */
public class DtmIoException extends DtmException {
    private static final long serialVersionUID = 1L;

    public DtmIoException(int code, String context, String nativeMessage) {
        super(code, context, nativeMessage);
    }
}
