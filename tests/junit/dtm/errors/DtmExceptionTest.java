package dtm.errors;

import dtm.bindings.Dtm;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** Status codes: Java's table agrees with the engine's, and each becomes its own exception. */
class DtmExceptionTest {

    @Test
    void javaStatusNamesAreTheEnginesNames() {
        for (Status status : Status.values()) {
            if (status != Status.UNKNOWN) {
                assertEquals(status.name(),
                        Dtm.dtm_status_name(status.code()).getString(StandardCharsets.UTF_8),
                        "status " + status.code());
            }
        }
    }

    @Test
    void everyFailureHasItsType() {
        assertInstanceOf(InvalidArgumentException.class, of(Status.INVALID_ARGUMENT));
        assertInstanceOf(DtmIoException.class, of(Status.IO));
        assertInstanceOf(ModelFormatException.class, of(Status.MODEL_FORMAT));
        assertInstanceOf(ModelFormatException.class, of(Status.TOKENIZER_FORMAT));
        assertInstanceOf(TokenOutOfRangeException.class, of(Status.TOKEN_OUT_OF_RANGE));
        assertInstanceOf(ContextOverflowException.class, of(Status.CONTEXT_OVERFLOW));
        assertInstanceOf(NativeOutOfMemoryException.class, of(Status.OUT_OF_MEMORY));
        assertInstanceOf(UnsupportedFeatureException.class, of(Status.UNSUPPORTED));
        assertInstanceOf(NonFiniteWeightsException.class, of(Status.NON_FINITE));
        assertInstanceOf(InternalEngineException.class, of(Status.INTERNAL));
        assertInstanceOf(InternalEngineException.class, of(Status.BUFFER_TOO_SMALL));
        DtmException unknown = DtmException.of(1234, null, "");
        assertInstanceOf(InternalEngineException.class, unknown);
        assertEquals(Status.UNKNOWN, unknown.status());
        assertEquals(1234, unknown.code());
    }

    @Test
    void theMessageIsContextThenTheEnginesWords() {
        DtmException e = DtmException.of(Status.IO.code(), "cannot load model /m.bin", "No such file");
        assertEquals("cannot load model /m.bin: No such file", e.getMessage());
        assertEquals("No such file", e.nativeMessage());
        assertEquals(Status.IO, e.status());
        assertEquals("context overflow", DtmException.of(Status.CONTEXT_OVERFLOW.code(), null, "").getMessage());
    }

    private static DtmException of(Status status) {
        return DtmException.of(status.code(), "context", "message");
    }
}
