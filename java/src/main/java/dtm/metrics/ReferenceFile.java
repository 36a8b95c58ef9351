package dtm.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.data.AtomicFiles;
import dtm.engine.Engine;
import dtm.errors.CorruptReferenceException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The reference cache file, version 1. All numbers little-endian.
 *
 * <pre>
 * offset  size      content
 * 0       8         magic: 0x89 'D' 'T' 'M' 'R' 'E' 'F' '\n'
 * 8       4         uint32 format version = 1
 * 12      4         uint32 H, bytes of the header
 * 16      H         header: UTF-8 JSON object (below)
 * 16+H    4·S       int32  prompt_lens[S]     tokens per prompt, BOS included
 *         4·S       int32  cont_lens[S]       N of each sample
 *         4·T       int32  prompts[T]         T = sum of prompt_lens
 *         4·C       int32  continuations[C]   y, C = sum of cont_lens
 *         4·C       f32    base_logprobs[C]   log p_F(y_i)
 *         4·C·k     int32  topk_ids[C][k]     the base's top-k, by descending probability
 *         4·C·k     f32    topk_logprobs[C][k]
 * end-32  32        SHA-256 of every byte before it
 * </pre>
 *
 * Header members: {@code format} ("dtm.reference"), {@code version} (1), {@code dtmVersion},
 * {@code created}, {@code base} ({@code modelSha256}, {@code tokenizerSha256}), {@code vocabSize}, {@code n},
 * {@code topK}, {@code stopAtEos}, {@code prompts} ({@code source}, {@code name},
 * {@code sourceSha256}, {@code promptTokens}, {@code count}, {@code seed}, {@code sha256}),
 * {@code samples} (S), {@code promptTokensTotal} (T), {@code continuationTokens} (C).
 *
 * <p>Reading checks, in order: magic, version, that the lengths the header gives add up to the
 * file's size, the checksum, then the arrays' consistency (lengths within [1, N], token ids in
 * the vocabulary, the prompts' hash). Any failure is a {@link CorruptReferenceException} that
 * says which; the file is never modified.
 */
final class ReferenceFile {
    static final byte[] MAGIC = {(byte) 0x89, 'D', 'T', 'M', 'R', 'E', 'F', '\n'};
    static final int VERSION = 1;
    static final String FORMAT = "dtm.reference";
    private static final int PREFIX = 16;
    private static final int CHECKSUM = 32;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ReferenceFile() {
    }

    // ------------------------------------------------------------------------------------
    // Writing
    // ------------------------------------------------------------------------------------

    static void write(Reference ref, Path file) throws IOException {
        byte[] bytes = encode(ref);
        Path target = file.toAbsolutePath();
        Files.createDirectories(target.getParent());
        AtomicFiles.write(target, bytes);
    }

    static byte[] encode(Reference ref) throws IOException {
        ReferenceSettings st = ref.settings();
        List<int[]> prompts = ref.prompts().raw();
        int samples = prompts.size();
        int promptTotal = 0;
        for (int[] p : prompts) {
            promptTotal += p.length;
        }
        int cont = ref.continuationTokens();
        int k = st.options().topK();

        ObjectNode header = JSON.createObjectNode();
        header.put("format", FORMAT);
        header.put("version", VERSION);
        header.put("dtmVersion", engineVersion());
        header.put("created", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        putSettings(header, st);
        header.put("samples", samples);
        header.put("promptTokensTotal", promptTotal);
        header.put("continuationTokens", cont);
        byte[] head = JSON.writeValueAsBytes(header);

        long size = PREFIX + (long) head.length + 4L * (2L * samples + promptTotal + 2L * cont + 2L * cont * k)
                + CHECKSUM;
        if (size > Integer.MAX_VALUE - 8) {
            throw new IOException("the reference would take " + size + " bytes, more than one file of this format holds");
        }
        ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(VERSION).putInt(head.length).put(head);
        for (int[] p : prompts) {
            b.putInt(p.length);
        }
        int[] offsets = ref.contOffsetsRaw();
        for (int s = 0; s < samples; s++) {
            b.putInt(offsets[s + 1] - offsets[s]);
        }
        for (int[] p : prompts) {
            putInts(b, p);
        }
        putInts(b, ref.continuationsRaw());
        putFloats(b, ref.baseLogprobsRaw());
        putInts(b, ref.topkIdsRaw());
        putFloats(b, ref.topkLogprobsRaw());
        MessageDigest digest = Hashing.sha256();
        digest.update(b.array(), 0, b.position());
        b.put(digest.digest());
        if (b.hasRemaining()) {
            throw new IllegalStateException("reference encoding left " + b.remaining() + " bytes");
        }
        return b.array();
    }

    /** The settings as a canonical string (names left out): the key of the default cache path. */
    static String headerKey(ReferenceSettings st) {
        PromptSettings p = st.prompts();
        return String.join("\n", FORMAT + "/" + VERSION, st.base().modelSha256(), st.base().tokenizerSha256(),
                Integer.toString(st.vocabSize()), Integer.toString(st.options().n()),
                Integer.toString(st.options().topK()), Boolean.toString(st.options().stopAtEos()),
                p.source().id(), p.sourceSha256(), Integer.toString(p.promptTokens()), Integer.toString(p.count()),
                Long.toString(p.seed()), st.promptsSha256());
    }

    private static void putSettings(ObjectNode header, ReferenceSettings st) {
        ObjectNode base = header.putObject("base");
        base.put("modelSha256", st.base().modelSha256());
        base.put("tokenizerSha256", st.base().tokenizerSha256());
        header.put("vocabSize", st.vocabSize());
        header.put("n", st.options().n());
        header.put("topK", st.options().topK());
        header.put("stopAtEos", st.options().stopAtEos());
        ObjectNode prompts = header.putObject("prompts");
        PromptSettings p = st.prompts();
        prompts.put("source", p.source().id());
        prompts.put("name", p.name());
        prompts.put("sourceSha256", p.sourceSha256());
        prompts.put("promptTokens", p.promptTokens());
        prompts.put("count", p.count());
        prompts.put("seed", p.seed());
        prompts.put("sha256", st.promptsSha256());
    }

    private static void putInts(ByteBuffer b, int[] values) {
        b.asIntBuffer().put(values);
        b.position(b.position() + 4 * values.length);
    }

    private static void putFloats(ByteBuffer b, float[] values) {
        b.asFloatBuffer().put(values);
        b.position(b.position() + 4 * values.length);
    }

    private static String engineVersion() {
        try {
            return Engine.version();
        } catch (LinkageError e) {
            return "unknown";
        }
    }

    // ------------------------------------------------------------------------------------
    // Reading
    // ------------------------------------------------------------------------------------

    static Reference read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 8) {
            throw corrupt(file, "it has " + size + " bytes, more than a reference file of this format can hold");
        }
        byte[] bytes = Files.readAllBytes(file);
        return decode(bytes, file);
    }

    /** Whether {@code file} starts with {@link #MAGIC}. */
    static boolean hasMagic(Path file) throws IOException {
        try (java.io.InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(MAGIC.length), MAGIC);
        }
    }

    static Reference decode(byte[] bytes, Path file) {
        int size = bytes.length;
        if (size < PREFIX + CHECKSUM) {
            if (size >= MAGIC.length && Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
                throw corrupt(file, "it is truncated (" + size + " bytes)");
            }
            throw corrupt(file, "it is not a dtm reference file (" + size + " bytes, too short)");
        }
        if (!Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw corrupt(file, "it is not a dtm reference file (wrong magic bytes)");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.position(MAGIC.length);
        int version = b.getInt();
        if (version != VERSION) {
            throw corrupt(file, "it has format version " + Integer.toUnsignedString(version)
                    + "; this dtm reads version " + VERSION);
        }
        long headLen = Integer.toUnsignedLong(b.getInt());
        if (PREFIX + headLen + CHECKSUM > size) {
            throw corrupt(file, "it is truncated: its header alone needs " + (PREFIX + headLen + CHECKSUM)
                    + " bytes, the file has " + size);
        }
        JsonNode h;
        try {
            h = JSON.readTree(new String(bytes, PREFIX, (int) headLen, StandardCharsets.UTF_8));
        } catch (IOException e) {
            h = null;
        }
        if (h == null || !h.isObject()) {
            throw corrupt(file, checksumOk(bytes) ? "its header is not a JSON object"
                    : "its header is damaged (checksum mismatch)");
        }
        long samples = requireLong(h, "samples", bytes, file);
        long promptTotal = requireLong(h, "promptTokensTotal", bytes, file);
        long cont = requireLong(h, "continuationTokens", bytes, file);
        long k = requireLong(h, "topK", bytes, file);
        long expected;
        try {
            if (samples < 1 || promptTotal < samples || cont < samples || k < 0) {
                throw new ArithmeticException("negative or zero sizes");
            }
            long words = Math.addExact(Math.addExact(Math.multiplyExact(2, samples), promptTotal),
                    Math.multiplyExact(Math.multiplyExact(2, cont), Math.addExact(1, k)));
            expected = Math.addExact(PREFIX + headLen + CHECKSUM, Math.multiplyExact(4, words));
        } catch (ArithmeticException e) {
            expected = Long.MAX_VALUE;
        }
        if (expected > Integer.MAX_VALUE) {
            throw corrupt(file, checksumOk(bytes) ? "its header gives impossible sizes" : "its header is damaged (checksum mismatch)");
        }
        if (expected != size) {
            throw corrupt(file, (size < expected ? "it is truncated" : "it has extra bytes") + ": its header says "
                    + expected + " bytes, the file has " + size);
        }
        if (!checksumOk(bytes)) {
            throw corrupt(file, "its SHA-256 checksum does not match its content (the file is damaged)");
        }

        // The checksum holds: what follows can only fail for a file written by a broken program.
        ReferenceSettings settings;
        try {
            JsonNode base = h.get("base");
            JsonNode p = h.get("prompts");
            settings = new ReferenceSettings(
                    new ModelFingerprint(base.get("modelSha256").asText(), base.get("tokenizerSha256").asText()),
                    h.get("vocabSize").asInt(),
                    new ReferenceOptions(h.get("n").asInt(), (int) k, h.get("stopAtEos").asBoolean()),
                    new PromptSettings(PromptSource.ofId(p.get("source").asText()), p.get("name").asText(),
                            p.get("sourceSha256").asText(), p.get("promptTokens").asInt(), p.get("count").asInt(),
                            p.get("seed").asLong()),
                    p.get("sha256").asText());
        } catch (RuntimeException e) {
            throw corrupt(file, "its header lacks or garbles a setting (" + e.getMessage() + ")");
        }
        b.position(PREFIX + (int) headLen);
        int s = (int) samples;
        int vocab = settings.vocabSize();
        int n = settings.options().n();
        int[] promptLens = getInts(b, s);
        int[] contLens = getInts(b, s);
        long sumP = 0;
        long sumC = 0;
        for (int i = 0; i < s; i++) {
            if (promptLens[i] < 1 || contLens[i] < 1 || contLens[i] > n) {
                throw corrupt(file, "sample " + i + " has a prompt of " + promptLens[i] + " and a continuation of "
                        + contLens[i] + " tokens (N = " + n + ")");
            }
            sumP += promptLens[i];
            sumC += contLens[i];
        }
        if (sumP != promptTotal || sumC != cont) {
            throw corrupt(file, "its lengths add up to " + sumP + " prompt and " + sumC
                    + " continuation tokens, its header says " + promptTotal + " and " + cont);
        }
        List<int[]> prompts = new ArrayList<>(s);
        for (int i = 0; i < s; i++) {
            int[] p = getInts(b, promptLens[i]);
            checkIds(p, vocab, file, "prompt " + i);
            prompts.add(p);
        }
        int[] continuations = getInts(b, (int) cont);
        checkIds(continuations, vocab, file, "the continuations");
        float[] baseLogprobs = getFloats(b, (int) cont);
        int[] topkIds = getInts(b, (int) (cont * k));
        checkIds(topkIds, vocab, file, "the top-k ids");
        float[] topkLogprobs = getFloats(b, (int) (cont * k));
        PromptSet promptSet;
        Reference ref;
        try {
            promptSet = new PromptSet(settings.prompts(), settings.base().tokenizerSha256(), prompts);
            ref = new Reference(settings, promptSet, contLens, continuations, baseLogprobs, topkIds, topkLogprobs);
        } catch (RuntimeException e) {
            throw corrupt(file, e.getMessage());
        }
        if (!promptSet.sha256().equals(settings.promptsSha256())) {
            throw corrupt(file, "its prompts do not have the SHA-256 its header gives");
        }
        return ref;
    }

    private static boolean checksumOk(byte[] bytes) {
        MessageDigest digest = Hashing.sha256();
        digest.update(bytes, 0, bytes.length - CHECKSUM);
        return Arrays.equals(digest.digest(), 0, CHECKSUM, bytes, bytes.length - CHECKSUM, bytes.length);
    }

    private static long requireLong(JsonNode h, String name, byte[] bytes, Path file) {
        JsonNode v = h.get(name);
        if (v == null || !v.isIntegralNumber()) {
            throw corrupt(file, checksumOk(bytes) ? "its header has no integer \"" + name + "\""
                    : "its header is damaged (checksum mismatch)");
        }
        return v.asLong();
    }

    private static void checkIds(int[] ids, int vocab, Path file, String what) {
        for (int id : ids) {
            if (id < 0 || id >= vocab) {
                throw corrupt(file, what + " hold token " + id + ", outside the vocabulary of " + vocab);
            }
        }
    }

    private static int[] getInts(ByteBuffer b, int count) {
        int[] out = new int[count];
        b.asIntBuffer().get(out);
        b.position(b.position() + 4 * count);
        return out;
    }

    private static float[] getFloats(ByteBuffer b, int count) {
        float[] out = new float[count];
        b.asFloatBuffer().get(out);
        b.position(b.position() + 4 * count);
        return out;
    }

    private static CorruptReferenceException corrupt(Path file, String why) {
        return new CorruptReferenceException("refusing reference file " + (file == null ? "(in memory)" : file)
                + ": " + why + ". It was left as it is; delete it or regenerate it with --refresh");
    }
}
