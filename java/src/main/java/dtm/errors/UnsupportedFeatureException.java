package dtm.errors;

/**
 * The engine cannot do what was asked on this machine (status UNSUPPORTED), e.g. an
 * instruction set the CPU lacks.
 */
public class UnsupportedFeatureException extends DtmException {
    private static final long serialVersionUID = 1L;

    public UnsupportedFeatureException(int code, String context, String nativeMessage) {
        super(code, context, nativeMessage);
    }
}
