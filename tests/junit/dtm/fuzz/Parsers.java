package dtm.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.compress.Plan;
import dtm.data.DefaultModel;
import dtm.errors.CorruptReferenceException;
import dtm.errors.DtmIoException;
import dtm.errors.InvalidPromptSetException;
import dtm.errors.ModelFormatException;
import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.model.HfTokenizer;
import dtm.model.Model;
import dtm.model.ModelConfig;
import dtm.model.ModelSource;
import dtm.model.RopeScaling;
import dtm.scan.ScanCheckpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * The Java parsers of files that come from anywhere, as fuzz targets: each takes the bytes of a
 * file, reads them with the public API, and returns normally when the parser accepted them or
 * threw one of the exceptions its documentation names (with a message). Anything else (a
 * NullPointerException, an IndexOutOfBoundsException, an OutOfMemoryError, another exception)
 * propagates: that is a finding.
 *
 * <p>The reference and checkpoint targets first repair the file's checksums (the SHA-256 at the
 * end of a reference, the CRC-32 of every checkpoint line), so that mutations reach the checks
 * behind them; the mutation test also feeds them unrepaired files.
 */
final class Parsers {
    /** A parser under test: the bytes of one file in, documented failures swallowed. */
    @FunctionalInterface
    interface Target {
        /** Whether the parser accepted the file (false: it refused it with a documented exception). */
        boolean accept(byte[] file) throws IOException;
    }

    /** Vocabulary of the tokenizer.json seed (the default model's, cut to its first 1000 ids). */
    static final int TOKENIZER_VOCAB = 1000;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern CHECKSUM_MEMBER = Pattern.compile(",\"crc32\":\"([0-9a-f]{8})\"}$");
    private static final ModelConfig TOKENIZER_CONFIG = new ModelConfig(64, 128, 1, 1, 1, 64, TOKENIZER_VOCAB, 256,
            10000f, 1e-5f, true, 1, 2, 1000, ModelSource.HUGGING_FACE,
            new RopeScaling(RopeScaling.Kind.NONE, 1, 1, 1, 0), false, false, false);

    private static Path dir;
    private static Model model;

    private Parsers() {
    }

    /** The targets by name: also the names of their seed directories. */
    static final List<String> NAMES = List.of("reference", "plan", "prompts", "checkpoint", "tokenizer");

    static Target target(String name, boolean repair) {
        return switch (name) {
            case "reference" -> b -> reference(repair ? repairReference(b) : b);
            case "plan" -> Parsers::plan;
            case "prompts" -> Parsers::prompts;
            case "checkpoint" -> b -> checkpoint(repair ? repairCheckpoint(b) : b, repair);
            case "tokenizer" -> Parsers::tokenizer;
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** Reference.load: CorruptReferenceException or IOException. */
    static boolean reference(byte[] bytes) throws IOException {
        Path file = write("fuzz.dtmref", bytes);
        try {
            Reference ref = Reference.load(file);
            if (ref.prompts().size() < 1 || ref.continuationTokens() < ref.prompts().size()) {
                throw new AssertionError("an accepted reference has " + ref.prompts().size() + " prompts and "
                        + ref.continuationTokens() + " continuation tokens");
            }
            return true;
        } catch (CorruptReferenceException e) {
            return refused(e);
        }
    }

    /** Plan.read: IllegalArgumentException or UncheckedIOException; a plan read is written back unchanged. */
    static boolean plan(byte[] bytes) throws IOException {
        Path file = write("fuzz-plan.json", bytes);
        Plan plan;
        try {
            plan = Plan.read(file);
        } catch (IllegalArgumentException | UncheckedIOException e) {
            return refused(e);
        }
        Plan again = Plan.fromJson(plan.toJson());
        if (!again.equals(plan)) {
            throw new AssertionError("a plan read and written back reads as another plan:\n" + plan + "\n" + again);
        }
        return true;
    }

    /** PromptSet.fromJsonl (with the default model's tokenizer): InvalidPromptSetException or IOException. */
    static boolean prompts(byte[] bytes) throws IOException {
        Path file = write("fuzz-prompts.jsonl", bytes);
        try {
            PromptSet set = PromptSet.fromJsonl(model(), file);
            if (set.size() < 1) {
                throw new AssertionError("an accepted prompt set is empty");
            }
            return true;
        } catch (InvalidPromptSetException | IOException e) {
            return refused(e);
        }
    }

    /**
     * ScanCheckpoint.open against the header of the seed scan, or (repaired) against the file's
     * own first line when it is an object, so that its cells are checked against that header:
     * IllegalArgumentException or UncheckedIOException.
     */
    static boolean checkpoint(byte[] bytes, boolean ownHeader) throws IOException {
        ObjectNode header = ownHeader ? headerOf(bytes) : null;
        if (header == null) {
            header = seedHeader();
        }
        Path file = write("scan-checkpoint.jsonl", bytes);
        try (ScanCheckpoint cp = ScanCheckpoint.open(file, header)) {
            if (cp.done().size() > bytes.length) {
                throw new AssertionError(cp.done().size() + " cells from " + bytes.length + " bytes");
            }
            return true;
        } catch (IllegalArgumentException | UncheckedIOException e) {
            return refused(e);
        }
    }

    /** HfTokenizer.load, then an encode and a decode: DtmIoException or ModelFormatException. */
    static boolean tokenizer(byte[] bytes) throws IOException {
        Path file = write("tokenizer.json", bytes);
        HfTokenizer tok;
        try {
            tok = HfTokenizer.load(file, TOKENIZER_CONFIG);
        } catch (ModelFormatException | DtmIoException e) {
            return refused(e);
        }
        try (tok) {
            if (tok.vocabSize() != TOKENIZER_VOCAB) {
                throw new AssertionError("a tokenizer of " + tok.vocabSize() + " tokens for a model of "
                        + TOKENIZER_VOCAB);
            }
            int[] ids = tok.encode("Once upon a time, Lily", true);
            tok.decode(ids);
            for (int id = 0; id < Math.min(8, tok.vocabSize()); id++) {
                tok.piece(id);
            }
        }
        return true;
    }

    /** A documented refusal: it must say why. */
    private static boolean refused(Throwable e) {
        if (e.getMessage() == null || e.getMessage().isBlank()) {
            throw new AssertionError("a documented exception without a message", e);
        }
        return false;
    }

    // ------------------------------------------------------------------------------------
    // Checksum repair: mutations then reach the checks behind the checksums
    // ------------------------------------------------------------------------------------

    /** The bytes with the reference's last 32 bytes set to the SHA-256 of the rest. */
    static byte[] repairReference(byte[] bytes) {
        if (bytes.length < 32) {
            return bytes;
        }
        byte[] out = bytes.clone();
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        sha.update(out, 0, out.length - 32);
        System.arraycopy(sha.digest(), 0, out, out.length - 32, 32);
        return out;
    }

    /** The bytes with every line that ends in a crc32 member given its right checksum. */
    static byte[] repairCheckpoint(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (!java.util.Arrays.equals(text.getBytes(StandardCharsets.UTF_8), bytes)) {
            return bytes;  // not UTF-8: repairing would change other bytes too
        }
        String[] lines = text.split("\n", -1);
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            Matcher m = CHECKSUM_MEMBER.matcher(line);
            if (m.find()) {
                String body = line.substring(0, m.start()) + "}";
                line = line.substring(0, m.start(1)) + crc32(body) + line.substring(m.end(1));
            }
            out.append(line);
            if (i < lines.length - 1) {
                out.append('\n');
            }
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String crc32(String text) {
        CRC32 crc = new CRC32();
        crc.update(text.getBytes(StandardCharsets.UTF_8));
        return String.format(Locale.ROOT, "%08x", crc.getValue());
    }

    /** The file's first line as a header object (its checksum member dropped), or null. */
    private static ObjectNode headerOf(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        int nl = text.indexOf('\n');
        String first = nl < 0 ? text : text.substring(0, nl);
        Matcher m = CHECKSUM_MEMBER.matcher(first);
        if (m.find()) {
            first = first.substring(0, m.start()) + "}";
        }
        try {
            JsonNode node = JSON.readTree(first);
            return node instanceof ObjectNode o ? o : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static ObjectNode seedHeader() throws IOException {
        ObjectNode h = headerOf(Seeds.all("checkpoint").stream().filter(s -> s.name().startsWith("scan-checkpoint"))
                .findFirst().orElseThrow().bytes());
        if (h == null) {
            throw new IllegalStateException("the checkpoint seed has no header line");
        }
        return h;
    }

    // ------------------------------------------------------------------------------------

    private static synchronized Path write(String name, byte[] bytes) throws IOException {
        if (dir == null) {
            dir = Files.createTempDirectory("dtm-fuzz-");
            dir.toFile().deleteOnExit();
        }
        Path file = dir.resolve(name);
        Files.deleteIfExists(file);
        Files.write(file, bytes);
        file.toFile().deleteOnExit();
        return file;
    }

    /** The default model, loaded once for the prompt target (its tokenizer tokenizes text prompts). */
    static synchronized Model model() throws IOException {
        if (model == null) {
            model = DefaultModel.load();
        }
        return model;
    }

    static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
