package dtm.engine;

import dtm.bindings.Dtm;
import dtm.errors.DtmException;
import dtm.errors.Status;

import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * Turns the engine's status codes into exceptions. For dtm's own packages: every native call
 * that returns a status goes through {@link #check}.
 */
public final class Errors {
    private Errors() {
    }

    /**
     * Returns normally when {@code status} is 0; otherwise throws the {@link DtmException}
     * subclass for it, carrying {@code dtm_last_error()} of this thread. Call it right after the
     * native call, on the same thread, before any other dtm call.
     *
     * @param context what was being done, e.g. "cannot load model x.bin"; computed only on failure
     */
    public static void check(int status, Supplier<String> context) {
        if (status != Status.OK.code()) {
            String message = lastError(); // before the context, which must not overwrite it
            throw DtmException.of(status, context == null ? null : context.get(), message);
        }
    }

    /** {@link #check(int, Supplier)} without context. */
    public static void check(int status) {
        check(status, null);
    }

    /** The exception for a failed call, with this thread's last engine message. */
    public static DtmException failure(int status, String context) {
        return DtmException.of(status, context, lastError());
    }

    /** This thread's last engine message ("" if none). */
    public static String lastError() {
        return Dtm.dtm_last_error().getString(StandardCharsets.UTF_8);
    }
}
