package dtm.model;

/**
 * A model's shape, read from its files ({@code dtm_model_config}).
 *
 * @param dim              residual stream width
 * @param hiddenDim        MLP width
 * @param layers           decoder layers
 * @param heads            query heads
 * @param kvHeads          key/value heads (grouped-query attention when fewer than heads)
 * @param headDim          width of one head (dim / heads unless the checkpoint says otherwise)
 * @param vocabSize        tokens in the vocabulary
 * @param maxSeqLen        context length
 * @param ropeTheta        RoPE base
 * @param normEps          RMSNorm epsilon
 * @param sharedClassifier whether the output head is the token embedding
 * @param bosId            begin-of-sequence token (-1: none)
 * @param eosId            end-of-sequence token (-1: none)
 * @param parameters       parameter count, a tied head counted once
 * @param source           a llama2.c file or a Hugging Face checkpoint
 * @param ropeScaling      RoPE rescaling (Hugging Face's rope_scaling)
 * @param qkvBias          whether q, k, v projections have biases (Qwen2, Llama's attention_bias)
 * @param oBias            whether the output projection has a bias (Llama's attention_bias)
 * @param mlpBias          whether gate, up, down have biases (Llama's mlp_bias)
 */
public record ModelConfig(int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim,
                          int vocabSize, int maxSeqLen, float ropeTheta, float normEps,
                          boolean sharedClassifier, int bosId, int eosId, long parameters,
                          ModelSource source, RopeScaling ropeScaling, boolean qkvBias, boolean oBias,
                          boolean mlpBias) {
    public ModelConfig {
        if (dim <= 0 || hiddenDim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0
                || headDim <= 0 || vocabSize <= 0 || maxSeqLen <= 0 || parameters <= 0) {
            throw new IllegalArgumentException("model config has a non-positive size: dim=" + dim
                    + " hiddenDim=" + hiddenDim + " layers=" + layers + " heads=" + heads
                    + " kvHeads=" + kvHeads + " headDim=" + headDim + " vocabSize=" + vocabSize
                    + " maxSeqLen=" + maxSeqLen + " parameters=" + parameters);
        }
        java.util.Objects.requireNonNull(source, "source");
        java.util.Objects.requireNonNull(ropeScaling, "ropeScaling");
    }
}
