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
import java.util.Iterator;
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
     * @throws ModelFormatException the file is not a tokenizer.json the library accepts
     */
    public static HfTokenizer load(Path file, ModelConfig config) {
        Objects.requireNonNull(file, "file");
        if (!Files.isRegularFile(file)) {
            throw new DtmIoException(Status.IO.code(), "cannot load the tokenizer",
                    file + " does not exist (a Hugging Face checkpoint needs tokenizer.json to tokenize text)");
        }
        ObjectMapper json = new ObjectMapper();
        String[] pieces;
        try {
            pieces = readPieces(json.readTree(file.toFile()), file);
        } catch (IOException e) {
            throw new ModelFormatException(Status.TOKENIZER_FORMAT.code(), "cannot read tokenizer " + file, e.getMessage());
        }
        int bos = config == null ? -1 : config.bosId();
        int eos = config == null ? -1 : config.eosId();
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

    /** Every token's string: the model's vocabulary and the added tokens, by id. */
    private static String[] readPieces(JsonNode root, Path file) {
        JsonNode vocab = root.path("model").path("vocab");
        int size = 0;
        if (vocab.isObject()) {                       // BPE, WordPiece: piece -> id
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                size = Math.max(size, it.next().getValue().asInt() + 1);
            }
        } else if (vocab.isArray()) {                 // Unigram: [piece, score] by id
            size = vocab.size();
        } else {
            throw new ModelFormatException(Status.TOKENIZER_FORMAT.code(), "cannot read tokenizer " + file,
                    "it has no model.vocab");
        }
        for (JsonNode added : root.path("added_tokens")) {
            size = Math.max(size, added.path("id").asInt() + 1);
        }
        String[] pieces = new String[size];
        if (vocab.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                pieces[e.getValue().asInt()] = e.getKey();
            }
        } else {
            for (int i = 0; i < vocab.size(); i++) {
                pieces[i] = vocab.get(i).get(0).asText();
            }
        }
        for (JsonNode added : root.path("added_tokens")) {
            pieces[added.path("id").asInt()] = added.path("content").asText();
        }
        return pieces;
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
