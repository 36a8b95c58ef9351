package dtm.model;

import dtm.bindings.Dtm;
import dtm.engine.NativeHandle;

/**
 * Calibration activations for Wanda pruning ({@code dtm_calibration}): for every decoder matrix,
 * the L2 norm over the calibration tokens of each of its input features. Made by
 * {@link Session#calibrate}; close it when done.
 */
public final class Calibration extends NativeHandle<Dtm.dtm_calibration> {
    private final int tokens;

    Calibration(Dtm.dtm_calibration handle, int tokens, String description) {
        super(handle, description, Sharing.SHARED);
        this.tokens = tokens;
    }

    /** Tokens the norms were computed over. */
    public int tokens() {
        return tokens;
    }

    @Override
    protected void free(Dtm.dtm_calibration handle) {
        Dtm.dtm_calibration_free(handle);
    }

    /** Runs an action on the open native handle (for this package's classes). */
    <T> T use(java.util.function.Function<Dtm.dtm_calibration, T> action) {
        return call(action);
    }
}
