package dtm.errors;

/**
 * A native allocation failed (status OUT_OF_MEMORY). Not an {@link OutOfMemoryError}: the Java
 * heap is fine and the handles passed in stay valid.
 */
public class NativeOutOfMemoryException extends DtmException {
    private static final long serialVersionUID = 1L;

    public NativeOutOfMemoryException(int code, String context, String nativeMessage) {
        super(code, context, nativeMessage);
    }
}
