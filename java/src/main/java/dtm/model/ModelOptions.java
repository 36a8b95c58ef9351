package dtm.model;

import java.nio.file.Path;

/**
 * How to load a model ({@code dtm_model_params}).
 *
 * @param tokenizer   the tokenizer file; null means "tokenizer.bin" beside the model file
 * @param checkFinite scan all weights for NaN/infinity at load ({@link dtm.errors.NonFiniteWeightsException});
 *                    on by default: it costs one pass over the weights, and a model with NaN
 *                    weights otherwise computes NaN logits that no metric can make sense of
 */
public record ModelOptions(Path tokenizer, boolean checkFinite) {

    /** Tokenizer beside the model, weights checked for NaN/infinity. */
    public static ModelOptions defaults() {
        return new ModelOptions(null, true);
    }

    public ModelOptions withTokenizer(Path tokenizer) {
        return new ModelOptions(tokenizer, checkFinite);
    }

    public ModelOptions withCheckFinite(boolean checkFinite) {
        return new ModelOptions(tokenizer, checkFinite);
    }
}
