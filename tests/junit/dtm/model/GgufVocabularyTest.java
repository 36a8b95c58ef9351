package dtm.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.data.DefaultModel;
import dtm.errors.UnsupportedFeatureException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tokenizer as GGUF stores it, from tokenizer.bin and from tokenizer.json. */
class GgufVocabularyTest {
    @TempDir
    Path dir;

    @Test
    void aConvertedTokenizerJsonGivesTheTokensAndTypesOfItsTokenizerBin() throws IOException {
        try (Model model = DefaultModel.load()) {
            GgufVocabulary bin = GgufVocabulary.of(model);
            HfTokenizerWriter.write((NativeTokenizer) model.tokenizer(), model.config().maxSeqLen(), dir);
            GgufVocabulary json = GgufVocabulary.fromTokenizerJson(dir.resolve("tokenizer.json"), 1, 2,
                    model.config().vocabSize());
            assertEquals(GgufVocabulary.Kind.SENTENCEPIECE, json.kind());
            assertEquals(bin.tokens().size(), json.tokens().size());
            for (int id = 0; id < bin.tokens().size(); id++) {
                assertArrayEquals(bin.tokens().get(id), json.tokens().get(id), "token " + id);
            }
            assertArrayEquals(bin.types(), json.types());
            assertEquals(0, json.unk());
            assertTrue(json.addBos(), "the post-processor puts <s> first");
            assertTrue(json.addSpacePrefix(), "the normalizer prepends the space");
            assertNull(json.pre());
            // scores: -(rank of the first merge that makes the piece), merges ranked by tokenizer.bin's
            // scores: so a piece tokenizer.bin scores higher scores higher here too
            int mergeCount = HfTokenizerWriter.merges(pieces(json), bin.scores()).size();
            List<Integer> merged = new java.util.ArrayList<>();
            for (int id = 259; id < json.scores().length; id++) {
                if (json.scores()[id] > -mergeCount) {
                    merged.add(id);
                }
            }
            assertTrue(merged.size() > 25000, "pieces made by a merge: " + merged.size());
            merged.sort((a, b) -> Float.compare(bin.scores()[b], bin.scores()[a]));
            assertEquals(0f, json.scores()[merged.get(0)]);
            for (int i = 0; i + 1 < merged.size(); i++) {
                int a = merged.get(i), b = merged.get(i + 1);
                if (bin.scores()[a] > bin.scores()[b]) {
                    assertTrue(json.scores()[a] > json.scores()[b], a + " before " + b);
                }
            }
        }
    }

    @Test
    void tokenizersLlamaCppCannotReproduceAreRefused() throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode unigram = mapper.createObjectNode();
        unigram.putObject("model").put("type", "Unigram");
        Path u = dir.resolve("unigram.json");
        mapper.writeValue(u.toFile(), unigram);
        UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
                () -> GgufVocabulary.fromTokenizerJson(u, -1, -1, 10));
        assertTrue(e.getMessage().contains("is a Unigram tokenizer; the GGUF export writes BPE tokenizers"),
                e.getMessage());

        ObjectNode split = mapper.createObjectNode();
        ObjectNode pre = split.putObject("pre_tokenizer").put("type", "Sequence");
        pre.putArray("pretokenizers").addObject().put("type", "Split").putObject("pattern").put("Regex", "\\w+");
        pre.withArray("pretokenizers").addObject().put("type", "ByteLevel");
        ObjectNode model = split.putObject("model").put("type", "BPE");
        model.putObject("vocab").put("a", 0);
        model.putArray("merges");
        Path s = dir.resolve("split.json");
        mapper.writeValue(s.toFile(), split);
        e = assertThrows(UnsupportedFeatureException.class, () -> GgufVocabulary.fromTokenizerJson(s, -1, -1, 10));
        assertTrue(e.getMessage().contains("splits text by [\\w+], a pre-tokenizer llama.cpp has no name for"),
                e.getMessage());
    }

    private static String[] pieces(GgufVocabulary v) {
        String[] out = new String[v.tokens().size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = new String(v.tokens().get(i), java.nio.charset.StandardCharsets.UTF_8);
        }
        return out;
    }
}
