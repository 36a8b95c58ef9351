package dtm.model;

import dtm.errors.ModelFormatException;
import dtm.errors.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The token ids of a tokenizer.json are checked against the model before anything is allocated
 * by them: hostile files written here, each refused with a one-line reason.
 */
class HfTokenizerIdsTest {
    /** The model these tokenizers are loaded for: 6 tokens. */
    private static final int VOCAB = 6;
    private static final String SPECIALS = "[" + special(0, "<unk>") + ", " + special(1, "<s>") + ", "
            + special(2, "</s>") + "]";

    @TempDir
    Path dir;

    private static String special(int id, String content) {
        return "{\"id\": " + id + ", \"content\": \"" + content + "\", \"single_word\": false, \"lstrip\": false, "
                + "\"rstrip\": false, \"normalized\": false, \"special\": true}";
    }

    private static ModelConfig model(int vocab) {
        return new ModelConfig(8, 16, 1, 2, 2, 4, vocab, 32, 10000f, 1e-5f, true, 1, 2, 1000,
                ModelSource.HUGGING_FACE, new RopeScaling(RopeScaling.Kind.NONE, 1, 0, 0, 0), false, false, false);
    }

    /** A BPE tokenizer.json with this vocabulary (the object's text) and these added tokens. */
    private Path tokenizer(String vocab, String added) throws IOException {
        String json = """
                {"version": "1.0", "truncation": null, "padding": null,
                 "added_tokens": %s,
                 "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
                 "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>",
                           "continuing_subword_prefix": null, "end_of_word_suffix": null,
                           "fuse_unk": false, "byte_fallback": false,
                           "vocab": %s, "merges": [["a", "b"]]}}
                """.formatted(added, vocab);
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, json, StandardCharsets.UTF_8);
        return file;
    }

    private static String vocabWith(String lastEntries) {
        return "{\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, " + lastEntries + "}";
    }

    private static ModelFormatException refused(Path file, int modelVocab) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> HfTokenizer.load(file, model(modelVocab)));
        assertEquals(Status.TOKENIZER_FORMAT, e.status());
        assertTrue(e.getMessage().startsWith("cannot read tokenizer " + file + ": "), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        return e;
    }

    @Test
    void aTokenizerOfTheModelsSizeLoads() throws IOException {
        Path file = tokenizer(vocabWith("\"a\": 3, \"b\": 4, \"ab\": 5"), SPECIALS);
        try (HfTokenizer t = HfTokenizer.load(file, model(VOCAB))) {
            assertEquals(VOCAB, t.vocabSize());
            assertEquals("ab", t.piece(5));
            assertEquals("<s>", t.piece(1));
            assertArrayEquals(new int[] {5, 3}, t.encode("aba", false));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"2147483646", "-1", "1000000000", "6", "99999999999", "-2147483648"})
    void aVocabularyIdOutsideTheModelIsRefused(String id) throws IOException {
        Path file = tokenizer(vocabWith("\"a\": 3, \"b\": 4, \"ab\": 5, \"x\": " + id), SPECIALS);
        String message = refused(file, VOCAB).getMessage();
        assertTrue(message.contains("'x' has id " + id + ", outside the model's vocabulary [0, 6)"), message);
    }

    @ParameterizedTest
    @ValueSource(strings = {"2147483646", "-5", "1000000000"})
    void anAddedTokenIdOutsideTheModelIsRefused(String id) throws IOException {
        Path file = tokenizer(vocabWith("\"a\": 3, \"b\": 4, \"ab\": 5"),
                "[{\"id\": 0, \"content\": \"<unk>\"}, {\"id\": " + id + ", \"content\": \"<pad>\"}]");
        String message = refused(file, VOCAB).getMessage();
        assertTrue(message.contains("added_tokens[1] ('<pad>') has id " + id + ", outside"), message);
    }

    @ParameterizedTest
    @ValueSource(strings = {"3.5", "\"3\"", "null", "true", "1e3"})
    void anIdThatIsNoIntegerIsRefused(String id) throws IOException {
        Path file = tokenizer(vocabWith("\"a\": 3, \"b\": 4, \"ab\": 5, \"x\": " + id), SPECIALS);
        assertTrue(refused(file, VOCAB).getMessage().contains("not an integer"));
    }

    @Test
    void anAddedTokenWithoutIdIsRefused() throws IOException {
        Path file = tokenizer(vocabWith("\"a\": 3, \"b\": 4, \"ab\": 5"), "[{\"content\": \"<pad>\"}]");
        assertTrue(refused(file, VOCAB).getMessage().contains("added_tokens[0] ('<pad>') has id (none), not an integer"));
    }

    @Test
    void aVocabularySmallerThanTheModelsIsRefusedNamingBothSizes() throws IOException {
        Path file = tokenizer(vocabWith("\"a\": 3, \"b\": 4, \"ab\": 5"), SPECIALS);
        String message = refused(file, 32000).getMessage();
        assertTrue(message.contains("it has 6 tokens (ids 0..5), the model 32000"), message);
    }

    @Test
    void aShortTailOfPaddingIdsAfterTheLastTokenIsAccepted() throws IOException {
        // Checkpoints pad their embedding beyond the tokenizer (Qwen2.5: 151,936 rows, 151,665 tokens).
        Path file = tokenizer(vocabWith("\"a\": 3, \"b\": 4, \"ab\": 5"), SPECIALS);
        int padded = VOCAB + HfTokenizer.paddingAllowed(VOCAB + 1024);
        try (HfTokenizer t = HfTokenizer.load(file, model(padded))) {
            assertEquals(padded, t.vocabSize());
            assertEquals("ab", t.piece(5));
            assertEquals("", t.piece(padded - 1));
        }
        String message = refused(file, padded + 1).getMessage();
        assertTrue(message.contains("it has 6 tokens (ids 0..5), the model " + (padded + 1)), message);
    }

    @Test
    void oneIdForTwoPiecesIsRefused() throws IOException {
        Path file = tokenizer(vocabWith("\"a\": 3, \"b\": 3, \"ab\": 5"), SPECIALS);
        assertTrue(refused(file, VOCAB).getMessage().contains("model.vocab gives id 3 to both 'a' and 'b'"));
        Path added = tokenizer(vocabWith("\"a\": 3, \"b\": 4, \"ab\": 5"),
                "[{\"id\": 1, \"content\": \"<s>\"}, {\"id\": 1, \"content\": \"<bos>\"}]");
        assertTrue(refused(added, VOCAB).getMessage().contains("added_tokens gives id 1 to both '<s>' and '<bos>'"));
    }

    @Test
    void aGapBelowTheLastIdIsAnEmptyPiece() throws IOException {
        Path file = tokenizer(vocabWith("\"a\": 3, \"b\": 4, \"ab\": 6"), SPECIALS);
        try (HfTokenizer t = HfTokenizer.load(file, model(7))) {
            assertEquals(7, t.vocabSize());
            assertEquals("", t.piece(5));
            assertEquals("ab", t.piece(6));
        }
    }

    @Test
    void aUnigramVocabularyLongerThanTheModelsIsRefused() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        StringBuilder vocab = new StringBuilder("[");
        for (int i = 0; i < VOCAB + 1; i++) {
            vocab.append(i == 0 ? "" : ", ").append("[\"p").append(i).append("\", -1.0]");
        }
        Files.writeString(file, "{\"added_tokens\": [], \"model\": {\"type\": \"Unigram\", \"vocab\": "
                + vocab + "]}}", StandardCharsets.UTF_8);
        assertTrue(refused(file, VOCAB).getMessage().contains("model.vocab has 7 entries, more than the model's 6 tokens"));
        Files.writeString(file, "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0], 5]}}");
        assertTrue(refused(file, VOCAB).getMessage().contains("model.vocab[1] is not a [piece, score] pair"));
    }
}
