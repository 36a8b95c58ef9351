package dtm.model;

import dtm.data.DefaultModel;
import dtm.errors.TokenOutOfRangeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The default model's tokenizer, through the Java API. */
class TokenizerTest {
    private static Model model;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() throws IOException {
        model = DefaultModel.load();
        tokenizer = model.tokenizer();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "Once upon a time",
            "Lily and Ben went to the park. They saw a big, red ball!",
            "  two leading spaces, and trailing ones  ",
            "line one\nline two\ttabbed",
            "naïve café, Grüße, 日本語, emoji \uD83D\uDE00",
            "x"})
    void decodeOfEncodeGivesBackTheText(String text) {
        int[] tokens = tokenizer.encode(text, true);
        assertEquals(tokenizer.bos(), tokens[0]);
        assertEquals(text, tokenizer.decode(tokens));
        assertArrayEquals(text.getBytes(StandardCharsets.UTF_8), tokenizer.decodeBytes(tokens));
    }

    @Test
    void withoutBosTheFirstTokenIsText() {
        int[] with = tokenizer.encode("Hello world", true);
        int[] without = tokenizer.encode("Hello world", false);
        assertEquals(with.length - 1, without.length);
        assertNotEquals(tokenizer.bos(), without[0]);
    }

    @Test
    void emptyTextIsJustBos() {
        assertArrayEquals(new int[] {tokenizer.bos()}, tokenizer.encode("", true));
        assertArrayEquals(new int[0], tokenizer.encode("", false));
        assertEquals("", tokenizer.decode(new int[0]));
    }

    @Test
    void longTextNeedsNoSecondCall() {
        String text = "The cat sat on the mat. ".repeat(500);
        int[] tokens = tokenizer.encode(text, true);
        assertTrue(tokens.length > 1000);
        assertEquals(text, tokenizer.decode(tokens));
    }

    @Test
    void decodeAfterGivesOnlyTheContinuation() {
        int[] prompt = tokenizer.encode("Once upon a time", true);
        int[] more = tokenizer.encode("Once upon a time there was", true);
        int[] tail = java.util.Arrays.copyOfRange(more, prompt.length, more.length);
        assertEquals(" there was", tokenizer.decodeAfter(prompt, tail));
    }

    @Test
    void piecesAreTheVocabularyEntries() {
        int[] tokens = tokenizer.encode("Hello", false);
        StringBuilder joined = new StringBuilder();
        for (int t : tokens) {
            joined.append(tokenizer.piece(t));
        }
        // llama2.c stores the word-initial space as part of the piece.
        assertEquals(" Hello", joined.toString().replace('\u2581', ' '));
    }

    @Test
    void tokensOutsideTheVocabularyAreRejected() {
        assertThrows(TokenOutOfRangeException.class, () -> tokenizer.piece(32000));
        assertThrows(TokenOutOfRangeException.class, () -> tokenizer.piece(-1));
        assertThrows(TokenOutOfRangeException.class, () -> tokenizer.decode(new int[] {1, 32000}));
    }
}
