package dtm.metrics;

import dtm.model.LayerRows;

import java.util.List;

/**
 * The residual stream entering one decoder layer for every sample of a {@link Reference}, one
 * native block per evaluation chunk ({@link Reference#captureLayerInputs}). A scan keeps one per
 * layer so that the cells of that layer skip the layers before it. Close it.
 *
 * @param layer        the layer the rows enter (the number of layers: the final norm)
 * @param chunkSamples samples per chunk the rows were captured with
 * @param chunks       the rows of each chunk
 */
public record LayerInputCache(int layer, int chunkSamples, List<LayerRows> chunks) implements AutoCloseable {
    public LayerInputCache {
        chunks = List.copyOf(chunks);
    }

    /** The rows of chunk {@code index}. */
    public LayerRows chunk(int index) {
        return chunks.get(index);
    }

    /** Memory all rows take. */
    public long bytes() {
        return chunks.stream().mapToLong(LayerRows::bytes).sum();
    }

    @Override
    public void close() {
        chunks.forEach(LayerRows::close);
    }
}
