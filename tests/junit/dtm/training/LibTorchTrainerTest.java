package dtm.training;

import dtm.data.DefaultModel;
import dtm.errors.InvalidPromptSetException;
import dtm.metrics.PromptSet;
import dtm.metrics.RunOptions;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.ModelOptions;
import dtm.model.ScoreResult;
import dtm.model.SessionOptions;
import dtm.recovery.RecoveryOptions;
import dtm.recovery.RecoveryTrainer;
import dtm.recovery.TrainingSet;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Recovery training on the default model: the trained function is the engine's (LibTorch's
 * logits against the engine's), pruned weights stay exactly zero, the loss falls, two runs give
 * bitwise the same weights, and the training prompts are disjoint from the evaluation prompts.
 */
class LibTorchTrainerTest {
    private static Model base;
    private static PromptSet evaluation;
    private static TrainingSet data;

    @BeforeAll
    static void setUp() throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        base = Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()));
        evaluation = PromptSet.defaults(base, 24, 16, 1);
        PromptSet pool = PromptSet.defaults(base, 24, 16 + 12, 2);
        data = TrainingSet.of(base, pool, evaluation, 12, 16, run());
    }

    @AfterAll
    static void tearDown() {
        if (base != null) {
            base.close();
        }
    }

    private static RunOptions run() {
        return RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(2));
    }

    private static RecoveryOptions options(long tokens) {
        return new RecoveryOptions(tokens, 4, 1e-3, 0.1, 0.01, 7, 2);
    }

    @Test
    void libTorchLogitsAreTheEnginesLogits() {
        int[] seq = data.sequence(0);
        ScoreResult engine = base.score(List.of(seq), true);
        try (PointerScope scope = new PointerScope();
             TrainableLlama model = new TrainableLlama(base, Set.of(), seq.length)) {
            long[] tokens = new long[seq.length];
            for (int i = 0; i < seq.length; i++) {
                tokens[i] = seq[i];
            }
            Tensor logits = model.logits(torch.tensor(tokens).view(1, seq.length)).contiguous();
            int vocab = base.config().vocabSize();
            float[] ours = new float[seq.length * vocab];
            logits.data_ptr_float().get(ours);
            double worst = 0;
            for (int p = 0; p < seq.length; p++) {
                float[] theirs = engine.logitsAt(p);
                for (int v = 0; v < vocab; v++) {
                    worst = Math.max(worst, Math.abs(theirs[v] - ours[p * vocab + v]));
                }
            }
            // fp32 in another summation order: agreement to about 1e-4 of logits of magnitude ~10.
            assertTrue(worst < 2e-3, "largest logit difference " + worst);
        }
    }

    @Test
    void prunedWeightsStayZeroTheLossFallsAndTwoRunsAgreeBitwise() {
        int[] trainable = base.findComponents("model.layers.[4-5].mlp.*");
        Map<Integer, Compression> prune = new java.util.LinkedHashMap<>();
        for (int c : trainable) {
            prune.put(c, Compression.magnitude(0.7));
        }
        List<Integer> list = new ArrayList<>();
        for (int c : trainable) {
            list.add(c);
        }
        RecoveryTrainer trainer = RecoveryTrainer.find();
        assertInstanceOf(LibTorchTrainer.class, trainer);
        try (Model pruned = base.compress(prune, null, 2);
             RecoveryTrainer.Trained a = trainer.train(base, pruned, list, data, options(4000), (t, d, n) -> { }, "recovery");
             RecoveryTrainer.Trained b = trainer.train(base, pruned, list, data, options(4000), (t, d, n) -> { }, "recovery")) {
            assertTrue(a.run().lastLoss() < a.run().firstLoss(), "KL " + a.run().firstLoss() + " -> " + a.run().lastLoss());
            assertEquals((4000 + 4 * data.sequenceLength() - 1) / (4 * data.sequenceLength()), a.run().optimizerSteps());
            boolean changed = false;
            for (int c : trainable) {
                float[] before = pruned.componentWeights(c);
                float[] after = a.model().componentWeights(c);
                for (int i = 0; i < before.length; i++) {
                    if (before[i] == 0f) {
                        assertEquals(0, Float.floatToRawIntBits(after[i]),
                                "pruned weight " + i + " of component " + c + " is not +0.0");
                    }
                    changed |= before[i] != after[i];
                }
                assertArrayEquals(after, b.model().componentWeights(c), "two runs differ in component " + c);
            }
            assertTrue(changed, "training changed nothing");
            int untouched = base.findComponents("model.layers.0.self_attn.q_proj")[0];
            assertArrayEquals(base.componentWeights(untouched), a.model().componentWeights(untouched));
            assertNotEquals(base.fingerprint(), a.model().fingerprint());
        }
    }

    @Test
    void aTrainedStepWritesWeightsThatItsPlanFileReproduces(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.util.List<Integer> trainable = new ArrayList<>();
        for (int c : base.findComponents("model.layers.5.*")) {
            trainable.add(c);
        }
        dtm.scan.TrainedSteps steps = new dtm.scan.TrainedSteps(base, RecoveryTrainer.find(), data, options(1500),
                trainable, dir.resolve("recovery"), 2, (t, d, n) -> { });
        dtm.compress.Plan pruned = new dtm.compress.Plan("step 1", List.of(
                new dtm.compress.Plan.Entry("model.layers.5.*", Compression.magnitude(0.6))));
        dtm.compress.Plan trained = steps.recover(pruned, "FDT-guided", 1);
        assertEquals(dir.resolve("recovery/fdt-guided-step1.safetensors"), trained.recovered().weights());
        assertEquals(1, trained.recovered().training().path("steps").size());
        assertEquals(12, trained.recovered().training().path("trainingPrompts").path("hashes").size());
        java.nio.file.Path file = dir.resolve("plan.json");
        trained.write(file);
        // Step 2 replaces step 1's file.
        dtm.compress.Plan second = steps.recover(trained, "FDT-guided", 2);
        assertTrue(java.nio.file.Files.exists(second.recovered().weights()));
        assertTrue(!java.nio.file.Files.exists(trained.recovered().weights()), "step 1's weights were kept");
        second.write(file);
        // What the plan file gives is what training wrote: every trained matrix, bit for bit,
        // different from the pruned one where it was not pruned, and zero (+0.0) where it was.
        try (Model again = dtm.compress.Plan.read(file).apply(base, null, 2);
             Model trainedDirect = base.loadCandidate(second.recovered().weights());
             Model prunedModel = pruned.apply(base, null, 2)) {
            for (int c : trainable) {
                float[] w = again.componentWeights(c);
                assertArrayEquals(trainedDirect.componentWeights(c), w);
                float[] before = prunedModel.componentWeights(c);
                int moved = 0;
                for (int i = 0; i < w.length; i++) {
                    if (before[i] == 0f) {
                        assertEquals(0, Float.floatToRawIntBits(w[i]), "weight " + i + " is not +0.0");
                    } else if (w[i] != before[i]) {
                        moved++;
                    }
                }
                assertTrue(moved > w.length / 4, "training moved only " + moved + " weights of component " + c);
            }
        }
        assertEquals(2, steps.runs().get("FDT-guided").size());
    }

    @Test
    void trainingPromptsAreDisjointFromEvaluationPromptsAndAnOverlapIsRefused() {
        assertEquals(12, data.promptHashes().size());
        data.requireDisjoint(evaluation);
        // Evaluating on a set that contains a training prompt is refused.
        List<int[]> mixed = new ArrayList<>(evaluation.prompts());
        int[] trained = java.util.Arrays.copyOf(data.sequence(3), evaluation.prompt(0).length);
        mixed.add(trained);
        PromptSet overlapping = PromptSet.ofTokens(base, mixed);
        InvalidPromptSetException e = assertThrows(InvalidPromptSetException.class,
                () -> data.requireDisjoint(overlapping));
        assertTrue(e.getMessage().contains("1 of the 17 evaluation prompts"), e.getMessage());
        assertThrows(InvalidPromptSetException.class,
                () -> TrainingSet.requireDisjoint(Plan0.recorded(data), overlapping));
        // A pool that is the evaluation set itself leaves nothing to train on.
        assertThrows(InvalidPromptSetException.class, () -> TrainingSet.of(base, evaluation, evaluation, 1, 4, run()));
    }

    /** The split as a plan records it. */
    private static final class Plan0 {
        static com.fasterxml.jackson.databind.JsonNode recorded(TrainingSet set) {
            com.fasterxml.jackson.databind.node.ObjectNode o =
                    com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
            o.set("trainingPrompts", set.toJson());
            return o;
        }
    }
}
