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
 */
public record Component(String name, ComponentKind kind, int layer, long rows, long cols) {
    public Component {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
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
