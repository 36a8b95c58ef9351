package dtm.errors;

/**
 * A reference cache file is not a whole, intact dtm reference: wrong magic, a version this dtm
 * cannot read, truncated, inconsistent lengths, or a checksum that does not match. The file is
 * left as it is. Status IO.
 */
public class CorruptReferenceException extends DtmException {
    private static final long serialVersionUID = 1L;

    public CorruptReferenceException(String message) {
        super(Status.IO, message);
    }
}
