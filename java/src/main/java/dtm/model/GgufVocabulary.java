package dtm.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dtm.bindings.Dtm;
import dtm.engine.NativeText;
import dtm.errors.ModelFormatException;
import dtm.errors.Status;
import dtm.errors.UnsupportedFeatureException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;

/**
 * A tokenizer as a GGUF file stores it ({@code tokenizer.ggml.*}), so that llama.cpp tokenizes as
 * dtm does. Built from the model's own tokenizer by {@link #of(Model)}:
 * <ul>
 *   <li>llama2.c tokenizer.bin: SentencePiece ("llama") with its merge scores; ids 0-2 are
 *       {@code <unk>} (unknown), {@code <s>}, {@code </s>} (control), ids 3-258 the byte tokens
 *       {@code <0x00>}..{@code <0xFF>} (type byte), every other piece with its spaces written
 *       "▁" (normal); BOS is added, and a space is put before the text, as llama2.c does;</li>
 *   <li>a checkpoint's tokenizer.json of model type BPE: SentencePiece-style (pieces spelled with
 *       "▁", byte fallback: Llama 2, TinyLlama, dtm convert's) as "llama", each piece scored by the
 *       rank of the merge that makes it (−rank: SentencePiece merges the highest score first, so it
 *       merges in rank order); byte-level (a ByteLevel pre-tokenizer: Llama 3, Qwen2, SmolLM) as
 *       "gpt2" with the merges and llama.cpp's name of its pre-tokenizer. Added special tokens are
 *       control tokens, other added tokens user-defined; a vocabulary shorter than the model's is
 *       padded with unused {@code [PADi]} tokens.</li>
 * </ul>
 *
 * @param kind           how llama.cpp tokenizes with it
 * @param tokens         every token in id order, as UTF-8 bytes (byte tokens as {@code <0xXX>})
 * @param scores         one merge score per token, or null for none
 * @param types          one per token: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
 * @param merges         byte pairs: "left right" in rank order; empty for SentencePiece
 * @param bos            BOS id, −1 for none
 * @param eos            EOS id, −1 for none
 * @param unk            unknown-token id, −1 for none
 * @param pad            padding id, −1 for none
 * @param addBos         llama.cpp adds BOS when it tokenizes with special tokens
 * @param addEos         llama.cpp adds EOS likewise
 * @param addSpacePrefix SentencePiece: a space goes before the text
 * @param pre            byte pairs: llama.cpp's pre-tokenizer name ({@code tokenizer.ggml.pre}); null for none
 */
public record GgufVocabulary(Kind kind, List<byte[]> tokens, float[] scores, int[] types, List<String> merges,
                             int bos, int eos, int unk, int pad, boolean addBos, boolean addEos,
                             boolean addSpacePrefix, String pre) {

    /** llama.cpp's tokenizer models. */
    public enum Kind {
        /** {@code tokenizer.ggml.model = "llama"}: merges by score, byte fallback. */
        SENTENCEPIECE(Dtm.DTM_GGUF_VOCAB_SENTENCEPIECE),
        /** {@code tokenizer.ggml.model = "gpt2"}: byte-level BPE with ranked merges. */
        BYTE_PAIRS(Dtm.DTM_GGUF_VOCAB_BYTE_PAIRS);

        private final int code;

        Kind(int code) {
            this.code = code;
        }

        /** The C API's dtm_gguf_vocab_kind value. */
        public int code() {
            return code;
        }
    }

    /** Token types of {@code tokenizer.ggml.token_type}. */
    public static final int NORMAL = 1;
    public static final int UNKNOWN = 2;
    public static final int CONTROL = 3;
    public static final int USER_DEFINED = 4;
    public static final int UNUSED = 5;
    public static final int BYTE = 6;

    private static final String SPACE = "\u2581";
    private static final int FIRST_PIECE = 259;  // tokenizer.bin: after <unk>, <s>, </s> and 256 byte tokens

    public GgufVocabulary {
        Objects.requireNonNull(kind, "kind");
        tokens = List.copyOf(tokens);
        Objects.requireNonNull(types, "types");
        merges = List.copyOf(merges);
        if (types.length != tokens.size() || (scores != null && scores.length != tokens.size())) {
            throw new IllegalArgumentException("a GGUF vocabulary needs one type (and one score, if any) per token: "
                    + tokens.size() + " tokens, " + types.length + " types, "
                    + (scores == null ? "no" : String.valueOf(scores.length)) + " scores");
        }
    }

    /**
     * The vocabulary of {@code model}'s tokenizer (see the class comment), {@code model.config().vocabSize()}
     * tokens long.
     *
     * @throws UnsupportedFeatureException a tokenizer.json llama.cpp cannot reproduce (not BPE, or a
     *                                     byte-level pre-tokenizer llama.cpp has no name for)
     * @throws ModelFormatException        a tokenizer.json that cannot be read
     */
    public static GgufVocabulary of(Model model) {
        Objects.requireNonNull(model, "model");
        ModelConfig config = model.config();
        if (config.source() == ModelSource.LLAMA2C) {
            return fromLlama2c((NativeTokenizer) model.tokenizer(), config);
        }
        return fromTokenizerJson(model.tokenizerPath(), model.tokenizer().bos(), model.tokenizer().eos(),
                config.vocabSize());
    }

    /** A llama2.c tokenizer.bin's vocabulary (see the class comment). */
    static GgufVocabulary fromLlama2c(NativeTokenizer tokenizer, ModelConfig config) {
        int n = tokenizer.vocabSize();
        List<byte[]> tokens = new ArrayList<>(n);
        float[] scores = new float[n];
        int[] types = new int[n];
        String[] specials = {"<unk>", "<s>", "</s>"};
        for (int id = 0; id < n; id++) {
            String text;
            if (id < specials.length) {
                text = specials[id];
                types[id] = id == 0 ? UNKNOWN : CONTROL;
            } else if (id < FIRST_PIECE) {
                text = String.format(Locale.ROOT, "<0x%02X>", id - specials.length);
                types[id] = BYTE;
            } else {
                text = null;
                types[id] = NORMAL;
            }
            tokens.add(text != null ? text.getBytes(StandardCharsets.UTF_8) : spaced(tokenizer.pieceBytes(id)));
            scores[id] = tokenizer.score(id);
        }
        return new GgufVocabulary(Kind.SENTENCEPIECE, tokens, scores, types, List.of(), config.bosId(),
                config.eosId(), 0, -1, true, false, true, null);
    }

    /** The bytes with every space (0x20) written "▁" (U+2581, three bytes in UTF-8). */
    private static byte[] spaced(byte[] piece) {
        byte[] space = SPACE.getBytes(StandardCharsets.UTF_8);
        int spaces = 0;
        for (byte b : piece) {
            spaces += b == ' ' ? 1 : 0;
        }
        byte[] out = new byte[piece.length + spaces * (space.length - 1)];
        int at = 0;
        for (byte b : piece) {
            if (b == ' ') {
                System.arraycopy(space, 0, out, at, space.length);
                at += space.length;
            } else {
                out[at++] = b;
            }
        }
        return out;
    }

    /**
     * The vocabulary of a tokenizer.json of model type BPE (see the class comment).
     *
     * @param bos       BOS id as the model's tokenizer reads it (−1 for none)
     * @param eos       EOS id likewise
     * @param vocabSize the model's vocabulary size (at least the tokenizer's)
     */
    static GgufVocabulary fromTokenizerJson(Path file, int bos, int eos, int vocabSize) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(Status.TOKENIZER_FORMAT.code(), "cannot read tokenizer " + file, e.getMessage());
        }
        JsonNode model = root.path("model");
        String type = model.path("type").asText("");
        if (!type.equals("BPE")) {
            throw new UnsupportedFeatureException(Status.UNSUPPORTED.code(), "cannot write the tokenizer as GGUF",
                    file + " is a " + (type.isEmpty() ? "tokenizer without a model type" : type + " tokenizer")
                            + "; the GGUF export writes BPE tokenizers (SentencePiece-style or byte-level)");
        }
        String[] pieces = new String[vocabSize];
        JsonNode vocab = model.path("vocab");
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            place(pieces, e.getValue().asInt(-1), e.getKey(), file);
        }
        int[] types = new int[vocabSize];
        Arrays.fill(types, NORMAL);
        for (JsonNode added : root.path("added_tokens")) {
            int id = added.path("id").asInt(-1);
            place(pieces, id, added.path("content").asText(), file);
            types[id] = added.path("special").asBoolean(false) ? CONTROL : USER_DEFINED;
        }
        int unk = -1;
        String unkToken = model.path("unk_token").asText(null);
        List<String> merges = mergesOf(model.path("merges"), file);
        boolean byteLevel = mentions(root.path("pre_tokenizer"), "ByteLevel");
        for (int id = 0; id < vocabSize; id++) {
            if (pieces[id] == null) {
                pieces[id] = "[PAD" + id + "]";
                types[id] = UNUSED;
            } else if (unkToken != null && pieces[id].equals(unkToken)) {
                unk = id;
                types[id] = UNKNOWN;
            } else if (!byteLevel && types[id] == NORMAL && pieces[id].matches("<0x[0-9A-F]{2}>")) {
                types[id] = BYTE;
            }
        }
        List<byte[]> tokens = new ArrayList<>(vocabSize);
        for (String p : pieces) {
            tokens.add(p.getBytes(StandardCharsets.UTF_8));
        }
        boolean addBos = bos >= 0 && postProcessorAdds(root.path("post_processor"), pieces[bos]);
        if (byteLevel) {
            return new GgufVocabulary(Kind.BYTE_PAIRS, tokens, null, types, merges, bos, eos, unk, -1, addBos, false,
                    false, preTokenizerName(root.path("pre_tokenizer"), file));
        }
        // SentencePiece-style: score each piece by the rank of the merge that makes it.
        Map<String, Integer> rankOf = new HashMap<>();
        for (int r = 0; r < merges.size(); r++) {
            String m = merges.get(r);
            rankOf.putIfAbsent(m.replace(" ", ""), r);  // pieces hold no spaces: they are written "▁"
        }
        float[] scores = new float[vocabSize];
        for (int id = 0; id < vocabSize; id++) {
            // A piece no merge makes scores below every merged one (a character, or a piece BPE never builds).
            Integer r = rankOf.get(pieces[id]);
            scores[id] = types[id] != NORMAL ? 0f : r != null ? (float) -r : (float) -merges.size();
        }
        boolean spacePrefix = mentions(root.path("normalizer"), "Prepend")
                || mentions(root.path("pre_tokenizer"), "Metaspace");
        return new GgufVocabulary(Kind.SENTENCEPIECE, tokens, scores, types, List.of(), bos, eos, unk, -1, addBos,
                false, spacePrefix, null);
    }

    private static void place(String[] pieces, int id, String piece, Path file) {
        if (id < 0 || id >= pieces.length) {
            throw new ModelFormatException(Status.TOKENIZER_FORMAT.code(), "cannot write " + file + " as GGUF",
                    "token '" + piece + "' has id " + id + ", outside the model's vocabulary [0, " + pieces.length + ")");
        }
        pieces[id] = piece;
    }

    /** Merges as "left right", whether tokenizer.json writes them as strings or as pairs. */
    private static List<String> mergesOf(JsonNode merges, Path file) {
        List<String> out = new ArrayList<>();
        for (JsonNode m : merges) {
            if (m.isTextual()) {
                out.add(m.asText());
            } else if (m.isArray() && m.size() == 2) {
                out.add(m.get(0).asText() + " " + m.get(1).asText());
            } else {
                throw new ModelFormatException(Status.TOKENIZER_FORMAT.code(), "cannot write " + file + " as GGUF",
                        "merge " + out.size() + " is neither \"a b\" nor [a, b]: " + m);
            }
        }
        return out;
    }

    /** Whether some node of the tree has {@code "type": type}. */
    private static boolean mentions(JsonNode node, String type) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return false;
        }
        if (type.equals(node.path("type").asText(null))) {
            return true;
        }
        for (JsonNode child : node) {
            if (mentions(child, type)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the post-processor puts {@code bosPiece} before a single sequence. */
    private static boolean postProcessorAdds(JsonNode post, String bosPiece) {
        for (JsonNode step : post.path("single")) {
            if (step.has("Sequence")) {
                return false;
            }
            if (bosPiece.equals(step.path("SpecialToken").path("id").asText(null))) {
                return true;
            }
        }
        for (JsonNode processor : post.path("processors")) {  // a Sequence of post-processors
            if (postProcessorAdds(processor, bosPiece)) {
                return true;
            }
        }
        return false;
    }

    /** llama.cpp's pre-tokenizer names, by the Split regex a tokenizer.json holds. */
    private static final Map<String, String> PRE_TOKENIZERS = Map.of(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            "llama-bpe",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            "qwen2");

    private static String preTokenizerName(JsonNode pre, Path file) {
        List<String> regexes = new ArrayList<>();
        collectRegexes(pre, regexes);
        if (regexes.isEmpty()) {
            return "gpt-2";  // ByteLevel with its own (GPT-2) regex
        }
        if (regexes.size() == 1 && PRE_TOKENIZERS.containsKey(regexes.get(0))) {
            return PRE_TOKENIZERS.get(regexes.get(0));
        }
        throw new UnsupportedFeatureException(Status.UNSUPPORTED.code(), "cannot write the tokenizer as GGUF",
                file + " splits text by " + regexes + ", a pre-tokenizer llama.cpp has no name for "
                        + "(known: Llama 3's and Qwen2's Split regexes, GPT-2's ByteLevel)");
    }

    private static void collectRegexes(JsonNode node, List<String> out) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return;
        }
        if ("Split".equals(node.path("type").asText(null)) && node.path("pattern").has("Regex")) {
            out.add(node.path("pattern").path("Regex").asText());
        }
        for (JsonNode child : node) {
            collectRegexes(child, out);
        }
    }

    /** Runs {@code action} with this vocabulary as a {@code dtm_gguf_vocab} (valid during the call). */
    void withNative(Consumer<Dtm.dtm_gguf_vocab> action) {
        byte[][] mergeBytes = new byte[merges.size()][];
        for (int i = 0; i < mergeBytes.length; i++) {
            mergeBytes[i] = merges.get(i).getBytes(StandardCharsets.UTF_8);
        }
        try (Strings tokenText = Strings.of(tokens.toArray(new byte[0][]));
             Strings mergeText = Strings.of(mergeBytes);
             FloatPointer scorePointer = scores == null ? null : new FloatPointer(scores);
             IntPointer typePointer = new IntPointer(types);
             BytePointer prePointer = pre == null ? null : NativeText.of(pre);
             Dtm.dtm_gguf_vocab v = new Dtm.dtm_gguf_vocab()) {
            v.kind(kind.code())
                    .n_tokens(tokens.size()).token_text(tokenText.bytes).token_offsets(tokenText.offsets)
                    .scores(scorePointer).token_types(typePointer)
                    .n_merges(merges.size()).merge_text(mergeText.bytes).merge_offsets(mergeText.offsets)
                    .bos_id(bos).eos_id(eos).unk_id(unk).pad_id(pad)
                    .add_bos(addBos ? 1 : 0).add_eos(addEos ? 1 : 0).add_space_prefix(addSpacePrefix ? 1 : 0)
                    .pre(prePointer);
            action.accept(v);
        }
    }

    /** Strings as one native byte buffer and n + 1 offsets into it. */
    private record Strings(BytePointer bytes, LongPointer offsets) implements AutoCloseable {
        static Strings of(byte[][] strings) {
            long[] offsets = new long[strings.length + 1];
            for (int i = 0; i < strings.length; i++) {
                offsets[i + 1] = offsets[i] + strings[i].length;
            }
            BytePointer bytes = new BytePointer(Math.max(1, offsets[strings.length]));
            for (int i = 0; i < strings.length; i++) {
                bytes.position(offsets[i]).put(strings[i]);
            }
            bytes.position(0);
            return new Strings(bytes, new LongPointer(offsets));
        }

        @Override
        public void close() {
            bytes.close();
            offsets.close();
        }
    }
}
