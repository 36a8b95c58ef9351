package dtm.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dtm.data.DefaultModel;
import dtm.data.DefaultTexts;
import dtm.model.HfTokenizer;
import dtm.model.HfTokenizerWriter;
import dtm.model.Model;
import dtm.model.NativeTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tokenizer.json that {@link HfTokenizerWriter} makes from the default tokenizer.bin, run by
 * Hugging Face's tokenizers library (DJL), encodes and decodes every text exactly as the
 * engine's llama2.c tokenizer: every paragraph and every line of the default stories, and
 * texts chosen for the corner cases (empty, spaces, newlines, tabs, non-ASCII, emoji through
 * byte fallback).
 */
class ConvertedTokenizerTest {
    @TempDir
    static Path dir;

    private static Model model;
    private static NativeTokenizer original;
    private static HfTokenizer converted;

    @BeforeAll
    static void convert() throws IOException {
        DefaultModel.ModelFiles files = DefaultModel.fetch();
        model = Model.load(files.model());
        original = (NativeTokenizer) model.tokenizer();
        HfTokenizerWriter.write(original, model.config().maxSeqLen(), dir);
        converted = HfTokenizer.load(dir.resolve("tokenizer.json"), model.config());
    }

    @AfterAll
    static void close() {
        converted.close();
        model.close();
    }

    @Test
    void specialTokensAndVocabularyMatch() {
        assertEquals(original.vocabSize(), converted.vocabSize());
        assertEquals(1, converted.bos());
        assertEquals(2, converted.eos());
        assertEquals("<0x0A>", converted.piece(3 + 10));
        assertEquals("\u2581the", converted.piece(278));
        assertEquals(" the", original.piece(278));
    }

    @Test
    void cornerCasesEncodeAndDecodeTheSame() {
        List<String> texts = List.of("", " ", "  ", "a", "Once upon a time", " leading space", "trailing space ",
                "two  spaces", "line\nbreak", "\n\nparagraph\n", "tab\there", "héllo wörld", "naïve café — “quoted”",
                "日本語のテキスト", "emoji 🙂 and 🐶", "\u0000nul", "x".repeat(300), "1234567890 3.14159",
                "Lily's dog didn't bark.");
        List<String> differences = compare(texts);
        assertTrue(differences.isEmpty(), differences.size() + " texts differ:\n" + String.join("\n", differences));
    }

    /**
     * The one known difference: Hugging Face's tokenizers match added special tokens in the
     * input text, so "<s>" written in a text becomes BOS (as with Llama 2's own tokenizer.json),
     * while llama2.c spells it with ordinary pieces. Decoding gives the same text.
     */
    @Test
    void specialTokensWrittenInTextAreMatchedByHuggingFaceOnly() {
        String text = "<s> and </s> as text";
        int[] nativeIds = original.encode(text, true);
        int[] hfIds = converted.encode(text, true);
        assertEquals("[1, 529, 29879, 29958, 322, 1533, 29879, 29958, 408, 1426]", Arrays.toString(nativeIds));
        assertEquals("[1, 1, 29871, 322, 29871, 2, 29871, 408, 1426]", Arrays.toString(hfIds));
        assertEquals(original.decode(nativeIds), converted.decode(nativeIds));
    }

    @Test
    void defaultStoriesEncodeAndDecodeTheSame() throws IOException {
        List<String> texts = new ArrayList<>();
        for (Path file : DefaultTexts.fetch()) {
            String text = Files.readString(file).replace("\r\n", "\n");
            texts.addAll(Arrays.asList(text.split("\n\n")));       // paragraphs
            texts.addAll(Arrays.asList(text.split("\n")));         // lines
        }
        texts.removeIf(String::isBlank);
        List<String> differences = compare(texts);
        System.out.printf("converted tokenizer: %d texts compared, %d differ%n", texts.size(), differences.size());
        assertTrue(differences.isEmpty(), differences.size() + " of " + texts.size() + " texts differ, e.g.:\n"
                + String.join("\n", differences.subList(0, Math.min(5, differences.size()))));
    }

    /** Texts whose tokens (with BOS) or decoded text differ, with both token lists. */
    private static List<String> compare(List<String> texts) {
        List<String> differences = new ArrayList<>();
        for (String text : texts) {
            int[] a = original.encode(text, true);
            int[] b = converted.encode(text, true);
            String decodedA = original.decode(a);
            String decodedB = converted.decode(a);
            if (!Arrays.equals(a, b) || !decodedA.equals(decodedB)) {
                differences.add("'" + abbreviate(text) + "': native " + abbreviate(Arrays.toString(a)) + " hf "
                        + abbreviate(Arrays.toString(b)) + " decoded native '" + abbreviate(decodedA) + "' hf '"
                        + abbreviate(decodedB) + "'");
            }
        }
        return differences;
    }

    private static String abbreviate(String s) {
        return s.length() <= 160 ? s : s.substring(0, 160) + "...";
    }

}
