package dtm.model;

import java.util.Objects;

/**
 * One weight matrix of a model ({@code dtm_component_info}).
 *
 * @param name  Hugging Face name, e.g. "model.layers.3.mlp.down_proj"
 * @param kind  what it is
 * @param layer decoder layer, -1 for the embedding and the head
 * @param rows  output features
 * @param cols  input features
 * @param format       how this model stores it
 * @param sparsity     share of its weights that are exactly zero
 * @param storageBytes bytes its weights take in that format
 */
public record Component(String name, ComponentKind kind, int layer, long rows, long cols,
                        WeightFormat format, double sparsity, long storageBytes) {
    public Component {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(format, "format");
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException(name + ": non-positive shape " + rows + " x " + cols);
        }
        if (kind.inLayer() ? layer < 0 : layer != -1) {
            throw new IllegalArgumentException(name + ": layer " + layer + " does not fit kind " + kind);
        }
    }

    /** Weights in the matrix: rows × cols. */
    public long parameterCount() {
        return rows * cols;
    }
}
