package dtm.metrics;

import dtm.data.DefaultModel;
import dtm.errors.CorruptReferenceException;
import dtm.errors.ReferenceMismatchException;
import dtm.model.Model;
import dtm.model.ModelOptions;
import dtm.model.SessionOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reference cache file: round trip, and refusal of damaged or mismatched files, which stay untouched. */
class ReferenceFileTest {
    private static final String TEXT = "Once upon a time there was a little girl named Lily. She loved to play "
            + "outside in the park with her friends. One day, she saw a big red ball under a tree. \"Can I play "
            + "with it?\" she asked her mom. Her mom smiled and said yes. Lily ran to the ball and kicked it high "
            + "into the sky. Then a dog came and took the ball away, and everybody laughed.";
    private static final ReferenceOptions OPTIONS = new ReferenceOptions(8, 4, false);

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    private static DefaultModel.ModelFiles files;
    private static Model base;
    private static Model other;
    private static PromptSet prompts;
    private static Reference reference;
    private static RunOptions run;

    @BeforeAll
    static void setUp() throws IOException {
        files = DefaultModel.fetch();
        ModelOptions tok = ModelOptions.defaults().withTokenizer(files.tokenizer());
        base = Model.load(files.model(), tok);
        other = Model.load(PerturbedModels.scaled(files.model(), shared, "other.bin",
                PerturbedModels.Matrix.WO, 1, 1.05f), tok);
        run = RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(2));
        prompts = PromptSet.fromText(base, TEXT, "lily.txt", 12, 4, 3);
        reference = Reference.generate(base, prompts, OPTIONS, run);
    }

    @AfterAll
    static void tearDown() {
        other.close();
        base.close();
    }

    private Path saved() throws IOException {
        Path file = tmp.resolve("ref" + Reference.EXTENSION);
        reference.save(file);
        return file;
    }

    @Test
    void roundTripKeepsEverything() throws IOException {
        Path file = saved();
        Reference back = Reference.load(file);
        assertTrue(back.sameContent(reference));
        assertEquals(reference.settings(), back.settings());
        for (int s = 0; s < reference.sampleCount(); s++) {
            assertArrayEquals(reference.prompts().prompt(s), back.prompts().prompt(s));
            assertArrayEquals(reference.continuation(s), back.continuation(s));
            assertArrayEquals(reference.baseLogprobs(s), back.baseLogprobs(s));
            assertArrayEquals(reference.topkIds(s), back.topkIds(s));
            assertArrayEquals(reference.topkLogprobs(s), back.topkLogprobs(s));
        }
        assertEquals(reference.evaluate(base).samples(), back.evaluate(base).samples());
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(1, left.count(), "no temporary file is left behind");
        }
    }

    @Test
    void topKIsTheBasesDistribution() {
        int[] ids = reference.topkIds(0);
        float[] lps = reference.topkLogprobs(0);
        int[] y = reference.continuation(0);
        float[] lp = reference.baseLogprobs(0);
        for (int i = 0; i < y.length; i++) {
            assertEquals(y[i], ids[i * 4], "the greedy token is the top-1");
            assertEquals(lp[i], lps[i * 4], 1e-6f);
            for (int j = 1; j < 4; j++) {
                assertTrue(lps[i * 4 + j] <= lps[i * 4 + j - 1]);
            }
        }
    }

    @Test
    void aDamagedByteIsRefused() throws IOException {
        Path file = saved();
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 100] ^= 0x10;
        Files.write(file, bytes);
        CorruptReferenceException e = assertRefusedAndUntouched(file, CorruptReferenceException.class);
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }

    @Test
    void aTruncatedFileIsRefused() throws IOException {
        Path file = saved();
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 7));
        CorruptReferenceException e = assertRefusedAndUntouched(file, CorruptReferenceException.class);
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        Files.write(file, Arrays.copyOf(bytes, 20));
        e = assertRefusedAndUntouched(file, CorruptReferenceException.class);
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void aForeignFileIsRefused() throws IOException {
        Path file = tmp.resolve("foreign.dtmref");
        Files.writeString(file, "this is not a reference file at all, but it is long enough to have a header\n");
        CorruptReferenceException e = assertRefusedAndUntouched(file, CorruptReferenceException.class);
        assertTrue(e.getMessage().contains("not a dtm reference"), e.getMessage());
    }

    @Test
    void anotherVersionIsRefused() throws IOException {
        Path file = saved();
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 2);
        Files.write(file, bytes);
        CorruptReferenceException e = assertRefusedAndUntouched(file, CorruptReferenceException.class);
        assertTrue(e.getMessage().contains("version 2"), e.getMessage());
    }

    @Test
    void anotherNIsRefusedWithTheDifferenceNamed() throws IOException {
        Path file = saved();
        byte[] before = Files.readAllBytes(file);
        ReferenceMismatchException e = assertThrows(ReferenceMismatchException.class,
                () -> Reference.loadOrGenerate(file, base, prompts, OPTIONS.withN(9), run, false));
        assertTrue(e.getMessage().contains("N: 8 in the file, 9 asked"), e.getMessage());
        assertEquals(1, e.differences().size(), e.differences().toString());
        assertArrayEquals(before, Files.readAllBytes(file));
    }

    @Test
    void anotherBaseOrPromptSetIsRefused() throws IOException {
        Path file = saved();
        byte[] before = Files.readAllBytes(file);
        ReferenceMismatchException e = assertThrows(ReferenceMismatchException.class,
                () -> Reference.loadOrGenerate(file, other, prompts, OPTIONS, run, false));
        assertTrue(e.getMessage().contains("base model"), e.getMessage());
        assertFalse(e.getMessage().contains("tokenizer"), "same tokenizer: " + e.getMessage());

        PromptSet reseeded = PromptSet.fromText(base, TEXT, "lily.txt", 12, 4, 4);
        e = assertThrows(ReferenceMismatchException.class,
                () -> Reference.loadOrGenerate(file, base, reseeded, OPTIONS, run, false));
        assertTrue(e.getMessage().contains("prompt seed: 3 in the file, 4 asked"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(file));

        e = assertThrows(ReferenceMismatchException.class, () -> Reference.load(file).requireBase(other));
        assertTrue(e.getMessage().contains("another base model"), e.getMessage());
    }

    @Test
    void loadOrGenerateMakesReusesAndRefreshes() throws IOException {
        Path file = tmp.resolve("sub/dir/ref.dtmref");
        Reference made = Reference.loadOrGenerate(file, base, prompts, OPTIONS, run, false);
        assertTrue(Files.isRegularFile(file));
        assertTrue(made.sameContent(reference));
        byte[] first = Files.readAllBytes(file);
        Reference reused = Reference.loadOrGenerate(file, base, prompts, OPTIONS, run, false);
        assertTrue(reused.sameContent(reference));
        assertArrayEquals(first, Files.readAllBytes(file), "a matching file is read, not rewritten");

        // A damaged file is replaced only when asked to.
        byte[] damaged = first.clone();
        damaged[damaged.length / 2] ^= 1;
        Files.write(file, damaged);
        assertThrows(CorruptReferenceException.class,
                () -> Reference.loadOrGenerate(file, base, prompts, OPTIONS, run, false));
        assertArrayEquals(damaged, Files.readAllBytes(file));
        Reference refreshed = Reference.loadOrGenerate(file, base, prompts, OPTIONS, run, true);
        assertTrue(refreshed.sameContent(reference));
        assertTrue(Reference.load(file).sameContent(reference));
    }

    @Test
    void defaultPathDependsOnTheSettings() {
        ReferenceSettings a = Reference.expectedSettings(base, prompts, OPTIONS);
        ReferenceSettings b = Reference.expectedSettings(base, prompts, OPTIONS.withTopK(5));
        Path cache = Path.of("/cache");
        assertEquals(Reference.defaultPath(cache, a), Reference.defaultPath(cache, a));
        assertFalse(Reference.defaultPath(cache, a).equals(Reference.defaultPath(cache, b)));
        assertTrue(Reference.defaultPath(cache, a).startsWith(cache.resolve("references")));
        assertEquals(a, reference.settings());
    }

    private <E extends Exception> E assertRefusedAndUntouched(Path file, Class<E> type) throws IOException {
        byte[] before = Files.readAllBytes(file);
        E e = assertThrows(type, () -> Reference.loadOrGenerate(file, base, prompts, OPTIONS, run, false));
        assertArrayEquals(before, Files.readAllBytes(file), "the refused file is left as it was");
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        return e;
    }
}
