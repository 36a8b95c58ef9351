package dtm.metrics;

import dtm.data.DefaultModel;
import dtm.errors.ContextOverflowException;
import dtm.model.Model;
import dtm.model.ModelOptions;
import dtm.model.ScoreResult;
import dtm.model.SessionOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Text perplexity in llama.cpp's convention, against a direct computation from teacher-forced scores. */
class TextPerplexityTest {
    private static final String TEXT = ("Once upon a time, in a small village by the sea, there lived an old "
            + "fisherman and his wife. Every morning he went out in his little boat, and every evening he came "
            + "home with a basket of fish. One day he caught a golden fish that could speak. \"Let me go,\" said "
            + "the fish, \"and I will give you whatever you wish.\" ").repeat(3);

    private static Model model;

    @BeforeAll
    static void load() throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        model = Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void perplexityIsTheDirectComputation() {
        for (int ctx : new int[] {32, 33, 64}) {
            RunOptions run = RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(2))
                    .withChunkSamples(2);
            PerplexityResult r = TextPerplexity.of(model, TEXT, ctx, run);

            int[] tokens = model.tokenizer().encode(TEXT, true);
            int windows = tokens.length / ctx;
            assertEquals(windows, r.windows());
            assertEquals(tokens.length, r.textTokens());
            List<int[]> seqs = new ArrayList<>();
            for (int w = 0; w < windows; w++) {
                int[] window = Arrays.copyOfRange(tokens, w * ctx, (w + 1) * ctx);
                window[0] = model.tokenizer().bos();
                seqs.add(window);
            }
            ScoreResult scores = model.score(seqs);
            int first = ctx / 2;
            double sum = 0;
            long count = 0;
            for (int w = 0; w < windows; w++) {
                float[] lp = scores.logprobNext(w);
                // position p predicts token p+1: tokens first+1 .. ctx-1 are predicted at p = first .. ctx-2
                for (int p = first; p <= ctx - 2; p++) {
                    sum -= lp[p];
                    count++;
                }
            }
            assertEquals(count, r.scoredTokens());
            assertEquals((long) windows * (ctx - ctx / 2 - 1), count);
            assertEquals(sum / count, r.nll(), 1e-5, "n_ctx " + ctx);
            assertEquals(Math.exp(sum / count), r.perplexity(), 1e-4 * r.perplexity());
            assertTrue(r.perplexity() > 1);
        }
    }

    @Test
    void scoredTokensPerWindowFollowLlamaCpp() {
        String longer = TEXT.repeat(3);
        PerplexityResult r = TextPerplexity.of(model, longer, 0, RunOptions.defaults());
        assertEquals(256, r.context(), "default window = the model's context");
        assertEquals(127L * r.windows(), r.scoredTokens());
    }

    @Test
    void tooShortATextOrTooLongAWindowIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TextPerplexity.of(model, "A short text.", 32, RunOptions.defaults()));
        assertTrue(e.getMessage().contains("fewer than one window"), e.getMessage());
        assertThrows(ContextOverflowException.class, () -> TextPerplexity.of(model, TEXT, 512, RunOptions.defaults()));
        assertThrows(IllegalArgumentException.class, () -> TextPerplexity.of(model, TEXT, 3, RunOptions.defaults()));
    }
}
