package dtm.model;

/**
 * What one teacher-forced evaluation call computed ({@code dtm_eval_outputs}). Per-sample
 * arrays have one entry per sample; per-position arrays one entry per continuation token, all
 * samples together (null unless asked for). The arrays are the record's own; do not modify
 * them.
 *
 * @param fdt          first divergent token: tokens reproduced before the first argmax != y_i (N if none)
 * @param sdt          divergent tokens: positions with argmax != y_i
 * @param nll          mean over i of -log p_F'(y_i)
 * @param deltaP       mean over i of p_F'(y_i) - p_F(y_i); NaN without base log-probabilities
 * @param kl           mean over i of KL(F || F'): exact with a base session, else a lower
 *                     bound from the base top-k, else NaN
 * @param argmax       the candidate's argmax at each position, or null
 * @param logprob      log p_F'(y_i), or null
 * @param baseLogprob  log p_F(y_i) (given or, with a base session, computed), or null
 * @param positionKl   KL at each position (NaN where there is no base information), or null
 * @param topK         k of the candidate's own top-k, 0 = none
 * @param topkIds      (continuation tokens, k) the candidate's top-k ids, or null
 * @param topkLogprobs (continuation tokens, k) their log-probabilities, or null
 */
public record EvalOutput(int[] fdt, int[] sdt, float[] nll, float[] deltaP, float[] kl,
                         int[] argmax, float[] logprob, float[] baseLogprob, float[] positionKl,
                         int topK, int[] topkIds, float[] topkLogprobs) {
}
