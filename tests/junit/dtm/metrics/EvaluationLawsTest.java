package dtm.metrics;

import dtm.data.DefaultModel;
import dtm.errors.ReferenceMismatchException;
import dtm.model.Model;
import dtm.model.ModelOptions;
import dtm.model.ScoreResult;
import dtm.model.Session;
import dtm.model.SessionOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The laws of DESIGN §1 on the default model: a model against itself, and perturbed candidates
 * whose teacher-forced FDT must equal the common prefix of two free-running greedy generations.
 */
class EvaluationLawsTest {
    private static final int N = 32;
    /** KL and Δp of identical logits are 0 up to float rounding of sums over 32000 terms. */
    private static final double SELF_TOLERANCE = 1e-6;

    @TempDir
    static Path tmp;

    private static DefaultModel.ModelFiles files;
    private static Model base;
    private static Model scaledWq;  // layer 3's wq × 1.3: some samples diverge, some do not
    private static Model noisedW2;  // noise on layer 2's down projection: most samples diverge early
    private static Reference reference;

    @BeforeAll
    static void setUp() throws IOException {
        files = DefaultModel.fetch();
        base = Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()));
        ModelOptions withTokenizer = ModelOptions.defaults().withTokenizer(files.tokenizer());
        scaledWq = Model.load(PerturbedModels.scaled(files.model(), tmp, "wq3x1.3.bin",
                PerturbedModels.Matrix.WQ, 3, 1.3f), withTokenizer);
        noisedW2 = Model.load(PerturbedModels.noised(files.model(), tmp, "w2noise.bin",
                PerturbedModels.Matrix.W2, 2, 0.01f, 7), withTokenizer);
        PromptSet prompts = PromptSet.defaults(base, 32, 8, 1);
        reference = Reference.generate(base, prompts, ReferenceOptions.defaults().withN(N), run());
    }

    @AfterAll
    static void tearDown() {
        for (Model m : new Model[] {noisedW2, scaledWq, base}) {
            if (m != null) {
                m.close();
            }
        }
    }

    private static RunOptions run() {
        return RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(2)).withChunkSamples(3);
    }

    private static EvaluationOptions options() {
        return EvaluationOptions.defaults().withRun(run()).withKeepPositions(true);
    }

    @Test
    void referenceIsTheBasesGreedyContinuation() {
        try (Session session = base.newSession(SessionOptions.defaults().withThreads(2))) {
            for (int s = 0; s < reference.sampleCount(); s++) {
                assertArrayEquals(session.generate(reference.prompts().prompt(s), N), reference.continuation(s),
                        "sample " + s);
            }
        }
    }

    @Test
    void baseAgainstItselfReproducesEveryToken() {
        for (EvaluationOptions o : List.of(options(), options().withBase(base))) {
            EvaluationResult r = reference.evaluate(base, o);
            assertEquals(o.base() == null ? KlMode.APPROXIMATE : KlMode.EXACT, r.klMode());
            assertEquals(8, r.sampleCount());
            for (SampleMetrics s : r.samples()) {
                assertEquals(N, s.n());
                assertEquals(N, s.fdt(), "FDT of sample " + s.index());
                assertEquals(0, s.sdt(), "SDT of sample " + s.index());
                assertEquals(1.0, s.top1Agreement());
                assertEquals(0.0, s.deltaP(), SELF_TOLERANCE);
                assertEquals(0.0, s.kl(), SELF_TOLERANCE);
                assertTrue(s.kl() > -SELF_TOLERANCE);
                assertTrue(s.nll() > 0);
            }
            assertEquals(8, r.aggregates().identical());
            assertEquals(N, r.fdtQ(75));
            for (int s = 0; s < 8; s++) {
                assertTrue(!contains(r.divergenceMask(s), true));
            }
        }
    }

    @Test
    void teacherForcedFdtIsTheCommonPrefixOfFreeRunningGenerations() {
        int diverged = 0;
        int identical = 0;
        for (Model candidate : List.of(scaledWq, noisedW2)) {
            EvaluationResult r = reference.evaluate(candidate, options());
            try (Session session = candidate.newSession(SessionOptions.defaults().withThreads(2))) {
                for (int s = 0; s < r.sampleCount(); s++) {
                    int[] free = session.generate(reference.prompts().prompt(s), N);
                    int[] y = reference.continuation(s);
                    int prefix = 0;
                    while (prefix < N && free[prefix] == y[prefix]) {
                        prefix++;
                    }
                    SampleMetrics m = r.samples().get(s);
                    assertEquals(prefix, m.fdt(), candidate.path().getFileName() + ", sample " + s);
                    boolean[] mask = r.divergenceMask(s);
                    int count = 0;
                    int first = -1;
                    for (int i = 0; i < mask.length; i++) {
                        if (mask[i]) {
                            count++;
                            first = first < 0 ? i : first;
                        }
                    }
                    assertEquals(count, m.sdt(), "SDT is the count of the mask, sample " + s);
                    assertEquals(first < 0 ? N : first, m.fdt(), "FDT is the mask's first divergence, sample " + s);
                    // The candidate's argmax at the first divergence is what it writes there on its own.
                    if (prefix < N) {
                        assertEquals(free[prefix], r.positions().argmax(s)[prefix]);
                        diverged++;
                    } else {
                        identical++;
                    }
                }
            }
        }
        assertTrue(diverged > 0 && identical > 0, "the candidates exercise both cases: " + diverged
                + " diverged, " + identical + " identical");
    }

    @Test
    void exactKlIsTheDirectComputationAndApproximateKlStaysBelowIt() {
        EvaluationResult exact = reference.evaluate(noisedW2, options().withBase(base));
        EvaluationResult approx = reference.evaluate(noisedW2, options());
        assertEquals(KlMode.EXACT, exact.klMode());
        assertEquals(KlMode.APPROXIMATE, approx.klMode());
        List<int[]> seqs = new ArrayList<>();
        for (int s = 0; s < 2; s++) {
            seqs.add(concat(reference.prompts().prompt(s), Arrays.copyOf(reference.continuation(s), N - 1)));
        }
        ScoreResult fb = base.score(seqs, true);
        ScoreResult fc = noisedW2.score(seqs, true);
        for (int s = 0; s < 2; s++) {
            int promptLen = reference.prompts().prompt(s).length;
            float[] positionKl = exact.positions().kl(s);
            float[] approxKl = approx.positions().kl(s);
            double sum = 0;
            for (int i = 1; i <= N; i++) {
                int row = fb.start(s) + promptLen - 2 + i;
                double direct = kl(fb.logitsAt(row), fc.logitsAt(row));
                assertEquals(direct, positionKl[i - 1], 1e-4 + 1e-3 * direct, "sample " + s + ", position " + i);
                // Lumping the tail can only lose divergence (log-sum inequality); float rounding aside.
                assertTrue(approxKl[i - 1] <= positionKl[i - 1] + 1e-5 + 1e-4 * positionKl[i - 1],
                        "approximate KL " + approxKl[i - 1] + " above exact " + positionKl[i - 1]);
                assertTrue(approxKl[i - 1] >= -1e-6);
                sum += direct;
            }
            assertEquals(sum / N, exact.samples().get(s).kl(), 1e-4 * (1 + sum / N));
        }
        assertTrue(exact.aggregates().kl().mean() > 0.001, "the noise changes the distribution");
    }

    @Test
    void deltaPAndNllAreAveragesOverPositions() {
        EvaluationResult r = reference.evaluate(scaledWq, options().withBase(base));
        for (int s = 0; s < r.sampleCount(); s++) {
            float[] lp = r.positions().logprob(s);
            int from = r.positions().offsets()[s];
            double nll = 0;
            double dp = 0;
            for (int i = 0; i < lp.length; i++) {
                nll -= lp[i];
                dp += Math.exp(lp[i]) - Math.exp(r.positions().baseLogprob()[from + i]);
                assertEquals(reference.baseLogprobs(s)[i], r.positions().baseLogprob()[from + i], 1e-5,
                        "the base's log-probability in the same pass is the cached one");
            }
            assertEquals(nll / lp.length, r.samples().get(s).nll(), 1e-5);
            assertEquals(dp / lp.length, r.samples().get(s).deltaP(), 1e-5);
        }
    }

    @Test
    void resultsDoNotDependOnTheChunking() {
        EvaluationResult one = reference.evaluate(noisedW2, options().withRun(run().withChunkSamples(100)));
        EvaluationResult many = reference.evaluate(noisedW2, options().withRun(run().withChunkSamples(1)));
        assertEquals(one.samples(), many.samples());
    }

    @Test
    void withoutTopKThereIsNoKl() {
        Reference plain = Reference.generate(base, reference.prompts(), new ReferenceOptions(8, 0, false), run());
        EvaluationResult r = plain.evaluate(scaledWq, EvaluationOptions.defaults().withRun(run()));
        assertEquals(KlMode.NONE, r.klMode());
        assertTrue(Double.isNaN(r.samples().get(0).kl()));
        assertEquals(0, r.aggregates().kl().count());
        assertNull(r.positions());
        assertThrows(IllegalStateException.class, () -> r.divergenceMask(0));
    }

    @Test
    void stopAtEosGivesEachSampleItsOwnN() throws IOException {
        // EOS's embedding row (also its output weights: shared classifier) scaled up, so that
        // greedy continuations end at EOS now and then (stories15M itself never writes EOS).
        try (Model eosHappy = Model.load(PerturbedModels.scaledEmbeddingRow(files.model(), tmp, "eos.bin", 2, 6f),
                ModelOptions.defaults().withTokenizer(files.tokenizer()))) {
            int eos = eosHappy.tokenizer().eos();
            Reference ref = Reference.generate(eosHappy, reference.prompts(), new ReferenceOptions(N, 4, true), run());
            int shorter = 0;
            for (int s = 0; s < ref.sampleCount(); s++) {
                int[] y = ref.continuation(s);
                if (y.length < N) {
                    shorter++;
                    assertEquals(eos, y[y.length - 1], "a continuation shorter than N ends with EOS");
                }
                for (int i = 0; i < y.length - 1; i++) {
                    assertTrue(y[i] != eos, "EOS only at the end");
                }
            }
            assertTrue(shorter > 0 && shorter < ref.sampleCount(), shorter + " samples stopped early");

            EvaluationResult self = ref.evaluate(eosHappy, options().withBase(eosHappy));
            long tokens = 0;
            for (SampleMetrics m : self.samples()) {
                assertEquals(ref.continuationLength(m.index()), m.n());
                assertEquals(m.n(), m.fdt(), "FDT = this sample's own N");
                assertEquals(0, m.sdt());
                tokens += m.n();
            }
            assertEquals(tokens, self.aggregates().tokens());
            assertEquals(ref.sampleCount(), self.aggregates().identical());

            Path file = tmp.resolve("eos.dtmref");
            ref.save(file);
            assertTrue(Reference.load(file).sameContent(ref));

            // The unmodified model against this reference: each sample still scored over its own N.
            EvaluationResult other = ref.evaluate(base, options());
            for (SampleMetrics m : other.samples()) {
                assertEquals(ref.continuationLength(m.index()), m.n());
                assertTrue(m.fdt() <= m.n());
            }
        }
    }

    @Test
    void exactKlNeedsTheReferencesBase() {
        ReferenceMismatchException e = assertThrows(ReferenceMismatchException.class,
                () -> reference.evaluate(base, options().withBase(scaledWq)));
        assertTrue(e.getMessage().contains("base model"), e.getMessage());
    }

    private static double kl(float[] baseLogits, float[] candLogits) {
        double lb = logSumExp(baseLogits);
        double lc = logSumExp(candLogits);
        double sum = 0;
        for (int v = 0; v < baseLogits.length; v++) {
            double lpb = baseLogits[v] - lb;
            sum += Math.exp(lpb) * (lpb - (candLogits[v] - lc));
        }
        return sum;
    }

    private static double logSumExp(float[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : z) {
            max = Math.max(max, v);
        }
        double s = 0;
        for (float v : z) {
            s += Math.exp(v - max);
        }
        return max + Math.log(s);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static boolean contains(boolean[] values, boolean wanted) {
        for (boolean v : values) {
            if (v == wanted) {
                return true;
            }
        }
        return false;
    }
}
