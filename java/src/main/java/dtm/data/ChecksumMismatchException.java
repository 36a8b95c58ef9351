package dtm.data;

import java.io.IOException;

/** A fetched file does not have the SHA-256 it must have; it was not kept. */
public final class ChecksumMismatchException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String expected;
    private final String actual;

    public ChecksumMismatchException(String what, String expected, String actual) {
        super(what + ": SHA-256 is " + actual + ", expected " + expected + "; the file was not kept");
        this.expected = expected;
        this.actual = actual;
    }

    public String expected() {
        return expected;
    }

    public String actual() {
        return actual;
    }
}
