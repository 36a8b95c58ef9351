package dtm.model;

import dtm.data.DefaultModel;
import dtm.engine.Engine;
import dtm.engine.Isa;
import dtm.errors.ContextOverflowException;
import dtm.errors.TokenOutOfRangeException;
import dtm.errors.UnsupportedFeatureException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** Sessions on the default model: what they compute, what they reject, how they close. */
class SessionTest {
    private static final int VOCAB = 32000;
    private static final int CONTEXT = 256;
    private static Model model;

    @BeforeAll
    static void load() throws IOException {
        model = DefaultModel.load();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static SessionOptions twoThreads() {
        return SessionOptions.defaults().withThreads(2);
    }

    @Test
    void sessionReportsItsSetUp() {
        try (Session session = model.newSession(SessionOptions.defaults().withThreads(1).withIsa(Isa.SCALAR))) {
            assertEquals(1, session.threads());
            assertEquals(Isa.SCALAR, session.isa());
            assertEquals(0, session.position());
        }
        try (Session session = model.newSession()) {
            assertTrue(session.threads() >= 1);
            assertFalse(session.isa() == Isa.AUTO);
        }
    }

    @Test
    void missingInstructionSetIsUnsupported() {
        assumeFalse(Engine.supports(Isa.AVX512), "this CPU has AVX-512");
        assertThrows(UnsupportedFeatureException.class,
                () -> model.newSession(SessionOptions.defaults().withIsa(Isa.AVX512)));
    }

    @Test
    void greedyGenerationIsWhatTeacherForcedScoringPredicts() {
        int[] prompt = model.tokenizer().encode("Once upon a time", true);
        int n = 24;
        try (Session session = model.newSession(twoThreads())) {
            int[] generated = session.generate(prompt, n);
            assertEquals(n, generated.length);

            int[] all = concat(prompt, generated);
            ScoreResult scores = session.score(List.of(all));
            assertEquals(1, scores.sequenceCount());
            assertEquals(all.length, scores.tokenCount());
            assertNull(scores.logits());
            // Position p predicts token p+1: the argmax after the prompt is the greedy text.
            int[] predicted = Arrays.copyOfRange(scores.argmax(), prompt.length - 1, all.length - 1);
            assertArrayEquals(generated, predicted);
            assertTrue(Float.isNaN(scores.logprobNext()[all.length - 1]));

            // Greedy tokens are the most likely ones, so their log-probability is the maximum of
            // the log-softmax of that position's logits: max(logits) - logsumexp(logits).
            ScoreResult withLogits = session.score(List.of(all), true);
            assertArrayEquals(scores.logprobNext(), withLogits.logprobNext());
            for (int p = prompt.length - 1; p < all.length - 1; p++) {
                float[] logits = withLogits.logitsAt(p);
                int next = all[p + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (float l : logits) {
                    max = Math.max(max, l);
                }
                assertEquals(max, logits[next], 0.0, "position " + p + ": the greedy token has the largest logit");
                double sum = 0;
                for (float l : logits) {
                    sum += Math.exp(l - max);
                }
                double maxLogSoftmax = -Math.log(sum);
                assertEquals(maxLogSoftmax, scores.logprobNext()[p], 1e-4,
                        "position " + p + ": log p(greedy token) is the largest log-probability");
            }
        }
    }

    @Test
    void batchedGenerationMatchesOneByOne() {
        int[][] prompts = {
                model.tokenizer().encode("Once upon a time", true),
                model.tokenizer().encode("Lily and Ben", true),
                model.tokenizer().encode("The little dog", true)};
        try (Session session = model.newSession(twoThreads().withMaxSequences(3))) {
            int[][] batch = session.generate(prompts, 12, false);
            for (int s = 0; s < prompts.length; s++) {
                assertArrayEquals(session.generate(prompts[s], 12), batch[s], "prompt " + s);
            }
        }
    }

    @Test
    void decodedLogitsEqualScoredLogits() {
        int[] tokens = model.tokenizer().encode("One day, a girl named Lily found a needle", true);
        try (Session session = model.newSession(twoThreads())) {
            ScoreResult scores = session.score(List.of(tokens), true);
            assertTrue(scores.hasLogits());
            session.reset();
            float[] logits = new float[VOCAB];
            for (int p = 0; p < tokens.length; p++) {
                session.decode(tokens[p], logits);
                assertArrayEquals(scores.logitsAt(p), logits, "position " + p);
            }
            assertEquals(tokens.length, session.position());
            session.reset();
            assertEquals(0, session.position());
        }
    }

    @Test
    void scoringManySequencesKeepsThemApart() {
        List<int[]> sequences = new ArrayList<>();
        sequences.add(model.tokenizer().encode("Once upon a time", true));
        sequences.add(new int[] {1});
        sequences.add(model.tokenizer().encode("Tom had a red ball. He liked to play.", true));
        try (Session session = model.newSession(twoThreads())) {
            ScoreResult together = session.score(sequences);
            assertEquals(3, together.sequenceCount());
            for (int s = 0; s < sequences.size(); s++) {
                ScoreResult alone = session.score(List.of(sequences.get(s)));
                assertEquals(sequences.get(s).length, together.length(s));
                assertArrayEquals(alone.argmax(), together.argmax(s), "sequence " + s);
                assertArrayEquals(alone.logprobNext(), together.logprobNext(s), "sequence " + s);
            }
        }
    }

    @Test
    void modelGenerateGivesTextAfterThePrompt() {
        Generation g = model.generate("Once upon a time", 16, twoThreads());
        assertEquals("Once upon a time", g.prompt());
        assertEquals(16, g.tokens().length);
        assertFalse(g.text().isEmpty());
        String whole = model.tokenizer().decode(concat(g.promptTokens(), g.tokens()));
        assertEquals("Once upon a time" + g.text(), whole);
    }

    @Test
    void tokensOutsideTheVocabularyAreRejected() {
        try (Session session = model.newSession(twoThreads())) {
            assertThrows(TokenOutOfRangeException.class, () -> session.decode(VOCAB));
            assertThrows(TokenOutOfRangeException.class, () -> session.decode(-1));
            assertThrows(TokenOutOfRangeException.class,
                    () -> session.score(List.of(new int[] {1, 400, VOCAB, 5})));
            assertThrows(TokenOutOfRangeException.class,
                    () -> session.generate(new int[] {1, -7}, 3));
            // The session is still usable.
            assertEquals(VOCAB, session.decode(1).length);
        }
    }

    @Test
    void sequencesLongerThanTheContextOverflow() {
        int[] tooLong = new int[CONTEXT + 1];
        Arrays.fill(tooLong, 400);
        tooLong[0] = 1;
        int[] nearlyFull = Arrays.copyOf(tooLong, CONTEXT - 5);
        try (Session session = model.newSession(twoThreads())) {
            assertThrows(ContextOverflowException.class, () -> session.score(List.of(tooLong)));
            assertThrows(ContextOverflowException.class, () -> session.generate(nearlyFull, 10));
            assertEquals(0, session.generate(nearlyFull, 0).length);
        }
    }

    @Test
    void decodingPastTheContextOverflowsAndKeepsTheStream() {
        try (Session session = model.newSession(twoThreads())) {
            float[] logits = new float[VOCAB];
            for (int p = 0; p < CONTEXT; p++) {
                session.decode(p == 0 ? 1 : 400, logits);
            }
            assertThrows(ContextOverflowException.class, () -> session.decode(400));
            assertEquals(CONTEXT, session.position());
        }
    }

    @Test
    void cheapMistakesAreCaughtInJava() {
        try (Session session = model.newSession(twoThreads())) {
            assertThrows(IllegalArgumentException.class, () -> session.score(List.of()));
            IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                    () -> session.score(List.of(new int[] {1, 2}, new int[0])));
            assertTrue(empty.getMessage().contains("sequence 1"), empty.getMessage());
            assertThrows(NullPointerException.class, () -> session.score(null));
            assertThrows(IllegalArgumentException.class, () -> session.generate(new int[0][], 4, false));
            assertThrows(IllegalArgumentException.class, () -> session.generate(new int[] {1}, -1));
            assertThrows(IllegalArgumentException.class, () -> session.decode(1, new float[10]));
        }
        assertThrows(IllegalArgumentException.class, () -> model.generate("", 4));
        assertThrows(NullPointerException.class, () -> model.generate(null, 4));
        assertThrows(IllegalArgumentException.class, () -> SessionOptions.defaults().withThreads(-1));
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseThrows() {
        Session session = model.newSession(twoThreads());
        session.close();
        session.close();
        assertTrue(session.isClosed());
        assertThrows(IllegalStateException.class, () -> session.decode(1));
        assertThrows(IllegalStateException.class, () -> session.score(List.of(new int[] {1})));
        assertThrows(IllegalStateException.class, session::reset);
        assertThrows(IllegalStateException.class, session::position);
    }

    @Test
    void aSessionKeepsItsClosedModelAlive() throws IOException {
        Model own = DefaultModel.load();
        Session session = own.newSession(twoThreads());
        int[] prompt = own.tokenizer().encode("Once upon a time", true);
        own.close();
        assertThrows(IllegalStateException.class, own::newSession);
        // The weights are still there for the session.
        assertEquals(5, session.generate(prompt, 5).length);
        session.close();
    }

    @Test
    void aSessionRefusesASecondThread() throws Exception {
        int[] full = new int[CONTEXT];
        Arrays.fill(full, 400);
        full[0] = 1;
        List<int[]> work = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            work.add(full);
        }
        boolean refused = false;
        try (Session session = model.newSession(twoThreads())) {
            // While one thread scores, the other is turned away (whichever came second).
            for (int attempt = 0; attempt < 5 && !refused; attempt++) {
                AtomicBoolean busyRefused = new AtomicBoolean();
                Thread busy = new Thread(() -> {
                    try {
                        session.score(work);
                    } catch (IllegalStateException e) {
                        busyRefused.set(e.getMessage().contains("another thread"));
                    }
                });
                busy.start();
                while (busy.isAlive() && !refused) {
                    try {
                        session.position();
                    } catch (IllegalStateException e) {
                        refused = e.getMessage().contains("another thread");
                    }
                }
                busy.join();
                refused |= busyRefused.get();
            }
            // Afterwards the session works normally.
            assertEquals(VOCAB, session.decode(1).length);
        }
        assertTrue(refused, "two threads used one session at once without an error");
    }

    private static int[] concat(int[] a, int[] b) {
        int[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
