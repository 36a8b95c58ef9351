package dtm.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dtm.data.CacheDirectory;
import dtm.errors.DtmIoException;
import dtm.errors.ModelFormatException;
import dtm.errors.Status;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * The tokenizer of a Hugging Face checkpoint: its tokenizer.json, run by Hugging Face's
 * tokenizers library (through DJL, whose jar carries the native library for this platform:
 * nothing is downloaded at run time). Usable from any thread; {@link #close()} frees the
 * native tokenizer (its model does that when it is freed).
 *
 * <p>{@link #encode} with {@code bos} adds the special tokens the tokenizer's post-processor
 * adds around a text (BOS for the Llama family, nothing for a tokenizer without BOS). {@link
 * #bos()} and {@link #eos()} come from tokenizer_config.json (bos_token, eos_token) when it
 * names them, else from config.json. Decoding skips special tokens. Chat templates are not
 * applied.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
    static {
        // The CPU library in the jar, never a download; its extraction goes under dtm's cache.
        setIfAbsent("RUST_FLAVOR", "cpu");
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("slf4j.internal.verbosity", "ERROR");  // DJL logs through SLF4J; dtm binds no backend
        if (System.getenv("ENGINE_CACHE_DIR") == null) {
            setIfAbsent("ENGINE_CACHE_DIR", CacheDirectory.get().resolve("djl").toString());
        }
    }

    private final Path file;
    private final HuggingFaceTokenizer tokenizer;
    private final String[] pieces;
    private final int bos;
    private final int eos;

    private HfTokenizer(Path file, HuggingFaceTokenizer tokenizer, String[] pieces, int bos, int eos) {
        this.file = file;
        this.tokenizer = tokenizer;
        this.pieces = pieces;
        this.bos = bos;
        this.eos = eos;
    }

    /**
     * Loads {@code tokenizer.json}; tokenizer_config.json beside it is read for BOS/EOS when
     * present, else {@code config}'s ids are used.
     *
     * @throws DtmIoException       the file cannot be read
     * @throws ModelFormatException the file is not a tokenizer.json the library accepts, a token
     *                              id is not an integer in [0, config.vocabSize()), an id names
     *                              two strings, or it has fewer tokens than the model
     */
    public static HfTokenizer load(Path file, ModelConfig config) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(config, "config");
        if (!Files.isRegularFile(file)) {
            throw new DtmIoException(Status.IO.code(), "cannot load the tokenizer",
                    file + " does not exist (a Hugging Face checkpoint needs tokenizer.json to tokenize text)");
        }
        ObjectMapper json = new ObjectMapper();
        String[] pieces;
        try {
            JsonNode root = json.readTree(file.toFile());
            pieces = readPieces(root, file, config.vocabSize());
            checkPostProcessor(root.path("post_processor"), file);
            checkNoLoneSurrogate(root, "", file);
        } catch (IOException e) {
            throw new ModelFormatException(Status.TOKENIZER_FORMAT.code(), "cannot read tokenizer " + file, e.getMessage());
        }
        int bos = config.bosId();
        int eos = config.eosId();
        Path tokenizerConfig = file.resolveSibling("tokenizer_config.json");
        if (Files.isRegularFile(tokenizerConfig)) {
            try {
                JsonNode tc = json.readTree(tokenizerConfig.toFile());
                bos = specialToken(tc.get("bos_token"), pieces, bos);
                eos = specialToken(tc.get("eos_token"), pieces, eos);
            } catch (IOException e) {
                throw new ModelFormatException(Status.TOKENIZER_FORMAT.code(), "cannot read " + tokenizerConfig, e.getMessage());
            }
        }
        HuggingFaceTokenizer native8;
        try {
            native8 = HuggingFaceTokenizer.newInstance(file, Map.of(
                    "addSpecialTokens", "false", "truncation", "false", "padding", "false"));
        } catch (IOException e) {
            throw new DtmIoException(Status.IO.code(), "cannot load the tokenizer " + file, e.getMessage());
        } catch (RuntimeException e) {
            throw new ModelFormatException(Status.TOKENIZER_FORMAT.code(), "cannot load the tokenizer " + file,
                    String.valueOf(e.getMessage()));
        }
        return new HfTokenizer(file, native8, pieces, bos, eos);
    }

    /** The tokenizer.json this was loaded from. */
    public Path file() {
        return file;
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    @Override
    public int[] encode(String text, boolean bos) {
        Objects.requireNonNull(text, "text");
        long[] ids = tokenizer.encode(text, bos, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public String decode(int[] tokens) {
        Objects.requireNonNull(tokens, "tokens");
        return tokenizer.decode(Arrays.stream(tokens).asLongStream().toArray(), true);
    }

    @Override
    public byte[] decodeBytes(int[] tokens) {
        return decode(tokens).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String piece(int token) {
        if (token < 0 || token >= pieces.length) {
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary [0, " + pieces.length + ")");
        }
        return pieces[token] == null ? "" : pieces[token];
    }

    @Override
    public byte[] pieceBytes(int token) {
        return piece(token).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    /**
     * Every token's string, by id: the model's vocabulary, then the added tokens (an added token
     * may restate or replace a vocabulary entry of the same id). Every id must be an integer in
     * [0, vocabSize) of the model, no id may name two different strings within the vocabulary
     * or within the added tokens, and the largest id must lie within {@link #paddingAllowed} of the model's last: a
     * tokenizer with fewer tokens than that is another model's. An id inside that range without an entry
     * (a gap) has the empty string.
     */
    /**
     * How many ids at the end of a model's vocabulary may have no token: checkpoints often pad
     * their embedding beyond the tokenizer (Qwen2.5: 151,936 rows for 151,665 tokens), so a
     * short tail is padding, while a tokenizer that lacks more than max(1024, 1 %) of the
     * model's ids belongs to another model. Padding ids decode to the empty string.
     */
    static int paddingAllowed(int modelVocab) {
        return Math.max(1024, modelVocab / 100);
    }

    private static String[] readPieces(JsonNode root, Path file, int modelVocab) {
        JsonNode vocab = root.path("model").path("vocab");
        String[] fromVocab = new String[modelVocab];
        if (vocab.isObject()) {                       // BPE, WordPiece: piece -> id
            for (Map.Entry<String, JsonNode> e : vocab.properties()) {
                int id = tokenId(e.getValue(), "model.vocab entry '" + e.getKey() + "'", modelVocab, file);
                claim(fromVocab, id, e.getKey(), "model.vocab", file);
            }
        } else if (vocab.isArray()) {                 // Unigram: [piece, score] by id
            if (vocab.size() > modelVocab) {
                throw tokenizerFormat(file, "model.vocab has " + vocab.size() + " entries, more than the model's "
                        + modelVocab + " tokens");
            }
            for (int id = 0; id < vocab.size(); id++) {
                JsonNode entry = vocab.get(id);
                if (!entry.isArray() || !entry.path(0).isTextual()) {
                    throw tokenizerFormat(file, "model.vocab[" + id + "] is not a [piece, score] pair");
                }
                fromVocab[id] = entry.get(0).asText();
            }
        } else {
            throw tokenizerFormat(file, "it has no model.vocab");
        }
        String[] pieces = fromVocab.clone();
        String[] fromAdded = new String[modelVocab];
        int index = 0;
        for (JsonNode added : root.path("added_tokens")) {
            String where = "added_tokens[" + index++ + "]";
            JsonNode content = added.path("content");
            if (!content.isTextual()) {
                throw tokenizerFormat(file, where + " has no \"content\" string");
            }
            int id = tokenId(added.path("id"), where + " ('" + content.asText() + "')", modelVocab, file);
            claim(fromAdded, id, content.asText(), "added_tokens", file);
            pieces[id] = content.asText();
        }
        int size = pieces.length;
        while (size > 0 && pieces[size - 1] == null) {
            size--;
        }
        if (modelVocab - size > paddingAllowed(modelVocab)) {
            throw tokenizerFormat(file, "it has " + size + " tokens (ids 0.." + (size - 1) + "), the model "
                    + modelVocab + ": it is not this model's tokenizer (at most " + paddingAllowed(modelVocab)
                    + " unused padding rows are accepted at the end of the embedding)");
        }
        return pieces;
    }

    /**
     * Refuses a post-processor that the tokenizers library would accept and then panic on when it
     * encodes, which aborts the whole JVM (found by fuzzing, tokenizers 0.21): a template
     * ({@code TemplateProcessing}, alone or in a {@code Sequence}) whose {@code single} or {@code
     * pair} names a special token that its {@code special_tokens} lacks, or a special token whose
     * {@code ids} and {@code tokens} differ in length.
     */
    private static void checkPostProcessor(JsonNode processor, Path file) {
        String type = processor.path("type").asText("");
        if (type.equals("Sequence")) {
            for (JsonNode p : processor.path("processors")) {
                checkPostProcessor(p, file);
            }
            return;
        }
        if (!type.equals("TemplateProcessing")) {
            return;
        }
        JsonNode specials = processor.path("special_tokens");
        for (Map.Entry<String, JsonNode> e : specials.properties()) {
            JsonNode ids = e.getValue().path("ids");
            JsonNode tokens = e.getValue().path("tokens");
            if (ids.isArray() && tokens.isArray() && ids.size() != tokens.size()) {
                throw tokenizerFormat(file, "post_processor.special_tokens '" + e.getKey() + "' has " + ids.size()
                        + " ids but " + tokens.size() + " tokens");
            }
        }
        for (String template : new String[] {"single", "pair"}) {
            for (JsonNode piece : processor.path(template)) {
                JsonNode special = piece.get("SpecialToken");
                if (special == null) {
                    continue;
                }
                JsonNode id = special.path("id");
                if (!id.isTextual() || !specials.has(id.asText())) {
                    throw tokenizerFormat(file, "post_processor." + template + " names the special token " + id
                            + ", which post_processor.special_tokens does not define");
                }
            }
        }
    }

    /**
     * Refuses a string (or member name) holding a lone UTF-16 surrogate, such as the escape
     * {@code "\\ud800"} alone: JSON allows it, no text holds it, and the tokenizers library panics
     * on it in a decoder (tokenizers 0.21, found by fuzzing), which aborts the JVM.
     */
    private static void checkNoLoneSurrogate(JsonNode node, String where, Path file) {
        if (node.isTextual()) {
            requireNoLoneSurrogate(node.textValue(), where, file);
        } else if (node.isObject()) {
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                String at = where.isEmpty() ? e.getKey() : where + "." + e.getKey();
                requireNoLoneSurrogate(e.getKey(), at, file);
                checkNoLoneSurrogate(e.getValue(), at, file);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                checkNoLoneSurrogate(node.get(i), where + "[" + i + "]", file);
            }
        }
    }

    private static void requireNoLoneSurrogate(String text, String where, Path file) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw tokenizerFormat(file, (where.isEmpty() ? "a string" : where) + " holds a lone UTF-16 surrogate "
                        + String.format("\\u%04x", (int) c) + ", which is no text");
            }
        }
    }

    /** A token id from tokenizer.json: an integer in [0, modelVocab). */
    private static int tokenId(JsonNode id, String where, int modelVocab, Path file) {
        if (!id.isIntegralNumber()) {
            throw tokenizerFormat(file, where + " has id " + (id.isMissingNode() ? "(none)" : id.toString())
                    + ", not an integer");
        }
        if (!id.canConvertToInt() || id.intValue() < 0 || id.intValue() >= modelVocab) {
            throw tokenizerFormat(file, where + " has id " + id.asText() + ", outside the model's vocabulary [0, "
                    + modelVocab + ")");
        }
        return id.intValue();
    }

    /** Records that {@code id} is {@code piece} in one list; a second, different piece for it is an error. */
    private static void claim(String[] claimed, int id, String piece, String list, Path file) {
        if (claimed[id] != null && !claimed[id].equals(piece)) {
            throw tokenizerFormat(file, list + " gives id " + id + " to both '" + claimed[id] + "' and '"
                    + piece + "'");
        }
        claimed[id] = piece;
    }

    private static ModelFormatException tokenizerFormat(Path file, String why) {
        return new ModelFormatException(Status.TOKENIZER_FORMAT.code(), "cannot read tokenizer " + file, why);
    }

    /** The id of a special token named in tokenizer_config.json (a string or {"content": ...}). */
    private static int specialToken(JsonNode node, String[] pieces, int fallback) {
        if (node == null || node.isNull()) {
            return fallback;
        }
        String content = node.isTextual() ? node.asText() : node.path("content").asText(null);
        if (content == null) {
            return fallback;
        }
        for (int i = 0; i < pieces.length; i++) {
            if (content.equals(pieces[i])) {
                return i;
            }
        }
        return fallback;
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null && System.getenv(key) == null) {
            System.setProperty(key, value);
        }
    }
}
