package dtm.model;

import dtm.bindings.Dtm;
import dtm.engine.NativeHandle;

import java.util.function.Function;

/**
 * The residual stream entering one decoder layer for every token of a set of evaluation samples
 * ({@code dtm_layer_inputs}): made by {@link Session#captureLayerInputs}, used by
 * {@link Session#evaluate(EvalInput, Session, boolean, int, LayerRows)} to start a candidate's
 * pass at that layer when it shares every earlier matrix with the model that made the rows (a
 * scan's cells of one layer; DESIGN.md §3). Results are bitwise those of a full pass. Close it.
 */
public final class LayerRows extends NativeHandle<Dtm.dtm_layer_inputs> {
    private final int layer;
    private final long bytes;

    LayerRows(Dtm.dtm_layer_inputs handle, int layer, String description) {
        super(handle, description, Sharing.SHARED);
        this.layer = layer;
        this.bytes = Dtm.dtm_layer_inputs_bytes(handle);
    }

    /** The layer the rows enter (the number of layers: the final norm). */
    public int layer() {
        return layer;
    }

    /** Memory the rows take. */
    public long bytes() {
        return bytes;
    }

    @Override
    protected void free(Dtm.dtm_layer_inputs handle) {
        Dtm.dtm_layer_inputs_free(handle);
    }

    <T> T use(Function<Dtm.dtm_layer_inputs, T> action) {
        return call(action);
    }
}
