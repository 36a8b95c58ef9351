package dtm.model;

import dtm.data.DefaultModel;
import dtm.errors.DtmIoException;
import dtm.errors.ModelFormatException;
import dtm.errors.Status;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading models: the default one, and files that are missing, truncated or foreign. */
class ModelLoadingTest {
    private static DefaultModel.ModelFiles files;

    @TempDir
    Path dir;

    @BeforeAll
    static void fetchDefaultModel() throws IOException {
        files = DefaultModel.fetch();
    }

    @Test
    void defaultModelHasTheShapeOfStories15M() throws IOException {
        try (Model model = DefaultModel.load()) {
            ModelConfig c = model.config();
            assertEquals(288, c.dim());
            assertEquals(768, c.hiddenDim());
            assertEquals(6, c.layers());
            assertEquals(6, c.heads());
            assertEquals(6, c.kvHeads());
            assertEquals(48, c.headDim());
            assertEquals(32000, c.vocabSize());
            assertEquals(256, c.maxSeqLen());
            assertTrue(c.sharedClassifier());
            assertEquals(1, c.bosId());
            assertEquals(2, c.eosId());

            // 6 layers x 7 matrices, then the embedding and the head.
            assertEquals(6 * 7 + 2, model.components().size());
            Component first = model.components().get(0);
            assertEquals("model.layers.0.self_attn.q_proj", first.name());
            assertEquals(ComponentKind.Q_PROJ, first.kind());
            assertEquals(0, first.layer());
            assertEquals(288L * 288, first.parameterCount());
            Component down = model.components().get(6);
            assertEquals("model.layers.0.mlp.down_proj", down.name());
            assertEquals(288, down.rows());
            assertEquals(768, down.cols());
            Component head = model.components().get(model.components().size() - 1);
            assertEquals(ComponentKind.LM_HEAD, head.kind());
            assertEquals(-1, head.layer());
            assertEquals(32000, head.rows());
        }
    }

    @Test
    void missingFileIsAnIoError() {
        Path missing = dir.resolve("no-such-model.bin");
        DtmIoException e = assertThrows(DtmIoException.class, () -> Model.load(missing));
        assertEquals(Status.IO, e.status());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertFalse(e.nativeMessage().isEmpty());
    }

    @Test
    void truncatedModelIsAFormatErrorWithTheEnginesMessage() throws IOException {
        Path truncated = dir.resolve("truncated.bin");
        try (InputStream in = Files.newInputStream(files.model())) {
            Files.write(truncated, in.readNBytes(100_000));
        }
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> Model.load(truncated, ModelOptions.defaults().withTokenizer(files.tokenizer())));
        assertEquals(Status.MODEL_FORMAT, e.status());
        assertFalse(e.nativeMessage().isEmpty(), "the engine says what did not fit");
        assertTrue(e.getMessage().endsWith(e.nativeMessage()), e.getMessage());
    }

    @Test
    void headerOnlyFileIsAFormatError() throws IOException {
        Path tiny = dir.resolve("tiny.bin");
        Files.write(tiny, new byte[10]);
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> Model.load(tiny, ModelOptions.defaults().withTokenizer(files.tokenizer())));
        assertEquals(Status.MODEL_FORMAT, e.status());
    }

    @Test
    void garbageModelIsAFormatError() throws IOException {
        Path garbage = dir.resolve("garbage.bin");
        byte[] bytes = new byte[1 << 16];
        new Random(42).nextBytes(bytes);
        Files.write(garbage, bytes);
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> Model.load(garbage, ModelOptions.defaults().withTokenizer(files.tokenizer())));
        assertEquals(Status.MODEL_FORMAT, e.status());
    }

    @Test
    void garbageTokenizerIsATokenizerFormatError() throws IOException {
        Path tokenizer = dir.resolve("tokenizer.bin");
        Files.write(tokenizer, new byte[] {1, 2, 3});
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> Model.load(files.model(), ModelOptions.defaults().withTokenizer(tokenizer)));
        assertEquals(Status.TOKENIZER_FORMAT, e.status());
    }

    @Test
    void tokenizerBesideTheModelIsTheDefault() throws IOException {
        // The cache keeps stories15M.bin and tokenizer.bin side by side.
        try (Model model = Model.load(files.model())) {
            assertEquals(32000, model.tokenizer().vocabSize());
        }
    }

    @Test
    void nullArgumentsAreRejectedInJava() {
        assertThrows(NullPointerException.class, () -> Model.load(null));
        assertThrows(NullPointerException.class, () -> Model.load(files.model(), null));
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseThrows() throws IOException {
        Model model = DefaultModel.load();
        model.close();
        model.close();
        assertTrue(model.isClosed());
        assertThrows(IllegalStateException.class, () -> model.tokenizer().encode("hi", true));
        assertThrows(IllegalStateException.class, model::newSession);
        assertThrows(IllegalStateException.class, () -> model.generate("Once", 2));
        // What was read at load time stays readable.
        assertEquals(32000, model.config().vocabSize());
    }
}
