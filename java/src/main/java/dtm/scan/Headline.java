package dtm.scan;

import dtm.model.Component;
import dtm.model.ComponentKind;
import dtm.model.Model;
import dtm.model.WeightFormat;

import java.util.EnumSet;
import java.util.Set;

/**
 * A plan's figures as the paper states them (DESIGN.md §3, "Headline figures"), over the
 * candidate's decoder matrices (every matrix of every layer; not the embedding or the head):
 *
 * @param prunedBeyond90          share of the decoder matrices with more than 90 % zero weights
 * @param attentionPrunedBeyond90 the same share among the attention matrices q, k, v and o alone
 * @param decoderInt8Share        share of the decoder matrices' parameters stored as naive int8
 */
public record Headline(double prunedBeyond90, double attentionPrunedBeyond90, double decoderInt8Share) {
    /** The sparsity a matrix must exceed to count as pruned beyond 90 %. */
    public static final double BEYOND = 0.9;
    private static final Set<ComponentKind> ATTENTION = EnumSet.of(ComponentKind.Q_PROJ, ComponentKind.K_PROJ,
            ComponentKind.V_PROJ, ComponentKind.O_PROJ);

    /** The figures of {@code candidate}. */
    public static Headline of(Model candidate) {
        int matrices = 0;
        int beyond = 0;
        int attention = 0;
        int attentionBeyond = 0;
        long parameters = 0;
        long int8 = 0;
        for (Component c : candidate.components()) {
            if (!c.kind().inLayer()) {
                continue;
            }
            boolean pruned = c.sparsity() > BEYOND;
            matrices++;
            beyond += pruned ? 1 : 0;
            if (ATTENTION.contains(c.kind())) {
                attention++;
                attentionBeyond += pruned ? 1 : 0;
            }
            parameters += c.parameterCount();
            int8 += c.format() == WeightFormat.INT8 ? c.parameterCount() : 0;
        }
        return new Headline(share(beyond, matrices), share(attentionBeyond, attention),
                parameters == 0 ? 0 : (double) int8 / parameters);
    }

    private static double share(int part, int whole) {
        return whole == 0 ? 0 : (double) part / whole;
    }
}
