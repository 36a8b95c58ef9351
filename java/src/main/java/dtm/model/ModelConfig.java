package dtm.model;

/**
 * A model's shape, read from its file ({@code dtm_model_config}).
 *
 * @param dim              residual stream width
 * @param hiddenDim        MLP width
 * @param layers           decoder layers
 * @param heads            query heads
 * @param kvHeads          key/value heads (grouped-query attention when fewer than heads)
 * @param headDim          dim / heads
 * @param vocabSize        tokens in the vocabulary
 * @param maxSeqLen        context length
 * @param ropeTheta        RoPE base
 * @param normEps          RMSNorm epsilon
 * @param sharedClassifier whether the output head is the token embedding
 * @param bosId            begin-of-sequence token
 * @param eosId            end-of-sequence token
 * @param parameters       parameter count, a tied head counted once
 */
public record ModelConfig(int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim,
                          int vocabSize, int maxSeqLen, float ropeTheta, float normEps,
                          boolean sharedClassifier, int bosId, int eosId, long parameters) {
    public ModelConfig {
        if (dim <= 0 || hiddenDim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0
                || headDim <= 0 || vocabSize <= 0 || maxSeqLen <= 0 || parameters <= 0) {
            throw new IllegalArgumentException("model config has a non-positive size: dim=" + dim
                    + " hiddenDim=" + hiddenDim + " layers=" + layers + " heads=" + heads
                    + " kvHeads=" + kvHeads + " headDim=" + headDim + " vocabSize=" + vocabSize
                    + " maxSeqLen=" + maxSeqLen + " parameters=" + parameters);
        }
    }
}
