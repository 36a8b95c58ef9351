package dtm.scan;

import dtm.compress.Plan;
import dtm.data.DefaultModel;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.ModelOptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The paper's headline figures of a candidate of the default model (6 layers x 7 decoder
 * matrices, 24 of them attention): matrices pruned beyond 90 % (all, attention alone) and the
 * share of decoder parameters in naive int8; the embedding and the head never count.
 */
class HeadlineTest {
    @Test
    void figuresCountDecoderMatricesOnly() throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        try (Model base = Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()))) {
            assertEquals(new Headline(0, 0, 0), Headline.of(base));
            Plan plan = new Plan("headline", List.of(
                    new Plan.Entry("model.layers.0.self_attn.q_proj", Compression.magnitude(0.95)),
                    new Plan.Entry("model.layers.1.mlp.down_proj", Compression.magnitude(0.95)),
                    new Plan.Entry("model.layers.2.self_attn.k_proj", Compression.magnitude(0.5)),  // not beyond 90 %
                    new Plan.Entry("model.layers.3.self_attn.v_proj", Compression.int8()),
                    new Plan.Entry("lm_head", Compression.int8())));                               // not a decoder matrix
            try (Model candidate = plan.apply(base, null, 2)) {
                Headline h = Headline.of(candidate);
                assertEquals(2.0 / 42, h.prunedBeyond90(), 1e-12);
                assertEquals(1.0 / 24, h.attentionPrunedBeyond90(), 1e-12);
                long perLayer = 4L * 288 * 288 + 3L * 288 * 768;
                assertEquals(288.0 * 288 / (6 * perLayer), h.decoderInt8Share(), 1e-12);
            }
        }
    }
}
