package dtm.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.data.AtomicFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a llama2.c tokenizer (tokenizer.bin: pieces and merge scores) as a Hugging Face
 * tokenizer.json + tokenizer_config.json that encodes every text to the same tokens.
 *
 * <p>The tokenizer.json is a BPE model as Hugging Face's converter makes one for a
 * SentencePiece-BPE (Llama 2) tokenizer:
 * <ul>
 *   <li>vocabulary: ids 0-2 are {@code <unk>}, {@code <s>}, {@code </s>}; ids 3-258 are the
 *       byte tokens {@code <0x00>}..{@code <0xFF>} (the default tokenizer.bin stores them as raw
 *       bytes; id 3 + b is byte b); from id 259 the pieces, with the space written as "▁";</li>
 *   <li>merges: for each piece, every split into two vocabulary pieces, all ordered by the
 *       merged piece's score (highest first; then by merged id, then by the halves' ids), so
 *       merging by rank repeats llama2.c's merging by score;</li>
 *   <li>byte_fallback for characters no piece spells; a normalizer that prepends "▁" to
 *       non-empty text (llama2.c's leading space) and writes spaces as "▁"; a decoder that
 *       undoes both; a post-processor that puts {@code <s>} first when special tokens are asked for.</li>
 * </ul>
 */
public final class HfTokenizerWriter {
    private static final String SPACE = "\u2581";
    private static final int FIRST_PIECE = 259;
    private static final String[] SPECIALS = {"<unk>", "<s>", "</s>"};

    private HfTokenizerWriter() {
    }

    /** Writes tokenizer.json and tokenizer_config.json for {@code tokenizer} into {@code dir}. */
    public static void write(NativeTokenizer tokenizer, int contextLength, Path dir) {
        int n = tokenizer.vocabSize();
        String[] pieces = new String[n];
        float[] scores = new float[n];
        for (int id = 0; id < n; id++) {
            pieces[id] = id < 3 ? SPECIALS[id]
                    : id < FIRST_PIECE ? String.format(Locale.ROOT, "<0x%02X>", id - 3)
                    : new String(tokenizer.pieceBytes(id), StandardCharsets.UTF_8).replace(" ", SPACE);
            scores[id] = tokenizer.score(id);
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        try {
            Files.createDirectories(dir);
            AtomicFiles.write(dir.resolve("tokenizer.json"), json.writeValueAsBytes(tokenizerJson(json, pieces, scores)));
            AtomicFiles.write(dir.resolve("tokenizer_config.json"),
                    json.writeValueAsBytes(tokenizerConfig(json, contextLength)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tokenizer to " + dir, e);
        }
    }

    /** Merges: pairs of vocabulary pieces, highest merged score first (see the class comment). */
    static List<String[]> merges(String[] pieces, float[] scores) {
        Map<String, Integer> vocab = new HashMap<>();
        for (int id = FIRST_PIECE; id < pieces.length; id++) {
            vocab.putIfAbsent(pieces[id], id);
        }
        record Merge(String left, String right, int merged, int leftId, int rightId, float score) { }
        List<Merge> all = new ArrayList<>();
        for (int id = FIRST_PIECE; id < pieces.length; id++) {
            String piece = pieces[id];
            if (vocab.get(piece) != id) {
                continue;  // a duplicate string: the first id is the one the vocabulary keeps
            }
            for (int cut = piece.offsetByCodePoints(0, 1); cut < piece.length(); cut = piece.offsetByCodePoints(cut, 1)) {
                Integer left = vocab.get(piece.substring(0, cut));
                Integer right = vocab.get(piece.substring(cut));
                if (left != null && right != null) {
                    all.add(new Merge(piece.substring(0, cut), piece.substring(cut), id, left, right, scores[id]));
                }
            }
        }
        all.sort(Comparator.comparingDouble((Merge m) -> -m.score()).thenComparingInt(Merge::merged)
                .thenComparingInt(Merge::leftId).thenComparingInt(Merge::rightId));
        List<String[]> out = new ArrayList<>(all.size());
        for (Merge m : all) {
            out.add(new String[] {m.left(), m.right()});
        }
        return out;
    }

    private static ObjectNode tokenizerJson(ObjectMapper json, String[] pieces, float[] scores) {
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < SPECIALS.length; id++) {
            added.addObject().put("id", id).put("content", SPECIALS[id]).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode normalizers = normalizer.putArray("normalizers");
        normalizers.addObject().put("type", "Prepend").put("prepend", SPACE);
        ObjectNode replace = normalizers.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", SPACE);
        root.putNull("pre_tokenizer");

        ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>").put("id", "<s>");
        bos.putArray("ids").add(1);
        bos.putArray("tokens").add("<s>");

        ObjectNode decoder = root.putObject("decoder").put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        ObjectNode spaces = decoders.addObject().put("type", "Replace");
        spaces.putObject("pattern").put("String", SPACE);
        spaces.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);

        ObjectNode model = root.putObject("model").put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true).put("byte_fallback", true).put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < pieces.length; id++) {
            if (!vocab.has(pieces[id])) {
                vocab.put(pieces[id], id);
            }
        }
        ArrayNode merges = model.putArray("merges");
        for (String[] m : merges(pieces, scores)) {
            merges.addArray().add(m[0]).add(m[1]);
        }
        return root;
    }

    private static ObjectNode tokenizerConfig(ObjectMapper json, int contextLength) {
        ObjectNode c = json.createObjectNode();
        c.put("tokenizer_class", "LlamaTokenizerFast");
        c.put("bos_token", "<s>").put("eos_token", "</s>").put("unk_token", "<unk>");
        c.put("add_bos_token", true).put("add_eos_token", false);
        c.put("legacy", true).put("clean_up_tokenization_spaces", false);
        c.put("model_max_length", contextLength);
        return c;
    }
}
