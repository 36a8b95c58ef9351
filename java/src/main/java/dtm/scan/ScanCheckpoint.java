package dtm.scan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.metrics.Aggregates;
import dtm.metrics.Summary;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * The checkpoint of a scan: a JSON-lines file whose first line says what the scan is (schema
 * {@value #SCHEMA}, base, reference, components, settings) and each further line is one finished
 * {@link ScanCell}. A line is appended and forced to disk as soon as its cell is done, so a
 * killed scan loses at most the cell it was computing; a last line cut short by the kill is
 * dropped on resume. A checkpoint of another scan is refused, never overwritten.
 *
 * <p>Every line is one JSON object whose last member is {@code "crc32"}: the CRC-32 (8 lower-case
 * hex digits) of the line's UTF-8 bytes without that member, i.e. of the object as written
 * before {@code ,"crc32":"…"} was put before its closing brace. A line whose checksum does not
 * match (edited or damaged), a cell outside the ranges its scan allows (FDT beyond N, a share
 * outside [0, 1], counts that do not add up, a component or setting the scan does not have, a
 * cell given twice) is refused with the line's number and the reason. The checkpoint must be a
 * regular file: a symbolic link (or a device, a directory) is refused, not followed.
 */
public final class ScanCheckpoint implements AutoCloseable {
    /** Schema of the header line. */
    public static final String SCHEMA = "dtm.scan-checkpoint/2";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHECKSUM_MEMBER = ",\"crc32\":\"";
    /** The end of every line: the checksum member and the object's closing brace. */
    private static final Pattern CHECKSUM = Pattern.compile(",\"crc32\":\"([0-9a-f]{8})\"}$");

    /** What a refused checkpoint's message recommends. */
    private static final String START_AFRESH = "remove it to start afresh (dtm scan/plan: --fresh), or write "
            + "this scan elsewhere (another --out)";

    private final Path file;
    private final FileChannel channel;
    private final List<ScanCell> done;

    private ScanCheckpoint(Path file, FileChannel channel, List<ScanCell> done) {
        this.file = file;
        this.channel = channel;
        this.done = done;
    }

    /**
     * Opens (creating it when missing) the checkpoint of the scan that {@code header} describes.
     * {@code header} must hold the scan's {@code n} (int), {@code components} and {@code
     * settings} (arrays of strings), against which the cells are checked.
     *
     * @throws IllegalArgumentException the file is the checkpoint of another scan, not one at
     *                                  all, an edited or damaged one, or not a regular file
     */
    public static ScanCheckpoint open(Path file, ObjectNode header) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(header, "header");
        header.put("schema", SCHEMA);
        Limits limits = Limits.of(header);
        try {
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isSymbolicLink()) {
                    throw new IllegalArgumentException("the checkpoint " + file + " is a symbolic link; dtm appends "
                            + "only to a regular file, never through a link");
                }
                if (!a.isRegularFile()) {
                    throw new IllegalArgumentException("the checkpoint " + file + " is not a regular file");
                }
            }
            // NOFOLLOW_LINKS: a link put there since the check is refused by the open itself.
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            try {
                List<ScanCell> cells = new ArrayList<>();
                long keep = readLines(file, channel, header, limits, cells);
                channel.truncate(keep);
                channel.position(keep);
                ScanCheckpoint cp = new ScanCheckpoint(file, channel, cells);
                if (keep == 0) {
                    cp.appendLine(JSON.writeValueAsString(header));
                }
                return cp;
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the scan checkpoint " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads the whole lines of the file into {@code cells}; returns the bytes they take. */
    private static long readLines(Path file, FileChannel channel, ObjectNode header, Limits limits,
                                  List<ScanCell> cells) throws IOException {
        long size = channel.size();
        if (size == 0) {
            return 0;
        }
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("the checkpoint " + file + " has " + size + " bytes, more than a "
                    + "scan writes: it is not a dtm scan checkpoint");
        }
        ByteBuffer buffer = ByteBuffer.allocate((int) size);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, buffer.position()) < 0) {
                break;
            }
        }
        byte[] bytes = buffer.array();
        Set<String> seen = new HashSet<>();
        long keep = 0;
        // Lines are cut in the bytes: '\n' never occurs inside a multi-byte UTF-8 sequence.
        int lineStart = 0;
        int lineNo = 1;
        while (lineStart < bytes.length) {
            int end = lineStart;
            while (end < bytes.length && bytes[end] != '\n') {
                end++;
            }
            if (end == bytes.length) {
                break;  // a last line without its newline: cut short by a kill, dropped
            }
            String line = new String(bytes, lineStart, end - lineStart, StandardCharsets.UTF_8);
            if (lineNo == 1) {
                checkHeader(file, line, header);
            } else {
                ScanCell cell = cell(file, lineNo, line);
                limits.check(file, lineNo, cell);
                if (!seen.add(cell.component() + '\n' + cell.setting())) {
                    throw damaged(file, lineNo, "the cell " + cell.component() + " / " + cell.setting()
                            + " is given a second time");
                }
                cells.add(cell);
            }
            lineNo++;
            lineStart = end + 1;
            keep = lineStart;
        }
        return keep;
    }

    private static void checkHeader(Path file, String line, ObjectNode header) {
        Matcher m = CHECKSUM.matcher(line);
        if (!m.find()) {
            JsonNode old = parseOrNull(line);
            String schema = old == null ? null : old.path("schema").asText(null);
            if (schema != null && schema.startsWith("dtm.scan-checkpoint/") && !schema.equals(SCHEMA)) {
                throw new IllegalArgumentException("the checkpoint " + file + " was written by another dtm version ("
                        + schema + ", this one writes " + SCHEMA + "); " + START_AFRESH);
            }
            throw new IllegalArgumentException("the checkpoint " + file + " is not a dtm scan checkpoint: its first "
                    + "line is no " + SCHEMA + " header; " + START_AFRESH);
        }
        JsonNode theirs = parse(file, 1, verified(file, 1, line, m));
        if (!theirs.equals(header)) {
            throw new IllegalArgumentException("the checkpoint " + file + " belongs to another scan (other base, "
                    + "reference, components or settings); " + START_AFRESH);
        }
    }

    private static ScanCell cell(Path file, int lineNo, String line) {
        Matcher m = CHECKSUM.matcher(line);
        if (!m.find()) {
            throw damaged(file, lineNo, "it has no checksum (a line dtm writes ends with ,\"crc32\":\"…\"})");
        }
        JsonNode node = parse(file, lineNo, verified(file, lineNo, line, m));
        try {
            return JSON.treeToValue(node, ScanCell.class);
        } catch (IOException | IllegalArgumentException e) {
            throw damaged(file, lineNo, "it is not a scan cell (" + firstLine(e.getMessage()) + ")");
        }
    }

    /** The line without its checksum member, once the checksum is found to match. */
    private static String verified(Path file, int lineNo, String line, Matcher m) {
        String body = line.substring(0, m.start()) + "}";
        String expected = m.group(1);
        String actual = crc32(body);
        if (!actual.equals(expected)) {
            throw damaged(file, lineNo, "its checksum does not match (crc32 " + actual + ", the line says " + expected
                    + "): it was edited or damaged");
        }
        return body;
    }

    private static JsonNode parse(Path file, int lineNo, String json) {
        try {
            JsonNode node = JSON.readTree(json);
            if (node == null || !node.isObject()) {
                throw damaged(file, lineNo, "it is not a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw damaged(file, lineNo, "it is not JSON (" + firstLine(e.getMessage()) + ")");
        }
    }

    private static JsonNode parseOrNull(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            return null;
        }
    }

    private static IllegalArgumentException damaged(Path file, int lineNo, String why) {
        return new IllegalArgumentException("the checkpoint " + file + ", line " + lineNo + ": " + why + "; "
                + START_AFRESH);
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "no detail";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    /** CRC-32 of the text's UTF-8 bytes, 8 lower-case hex digits. */
    static String crc32(String text) {
        CRC32 crc = new CRC32();
        crc.update(text.getBytes(StandardCharsets.UTF_8));
        return String.format(Locale.ROOT, "%08x", crc.getValue());
    }

    /** A JSON object's text with its checksum member put before the closing brace. */
    static String withChecksum(String objectJson) {
        if (!objectJson.startsWith("{") || !objectJson.endsWith("}") || objectJson.equals("{}")) {
            throw new IllegalArgumentException("a checkpoint line must be a non-empty JSON object");
        }
        return objectJson.substring(0, objectJson.length() - 1) + CHECKSUM_MEMBER + crc32(objectJson) + "\"}";
    }

    /** What the cells of one scan may hold: its N, components and settings. */
    private record Limits(int n, Set<String> components, Set<String> settings) {
        static Limits of(ObjectNode header) {
            JsonNode n = header.path("n");
            if (!n.canConvertToInt() || n.intValue() < 1) {
                throw new IllegalArgumentException("a scan checkpoint header needs n >= 1, got " + n);
            }
            Set<String> components = new HashSet<>();
            header.path("components").forEach(c -> components.add(c.asText()));
            Set<String> settings = new HashSet<>();
            header.path("settings").forEach(c -> settings.add(c.asText()));
            return new Limits(n.intValue(), components, settings);
        }

        void check(Path file, int lineNo, ScanCell c) {
            require(components.contains(c.component()), file, lineNo, "component " + c.component()
                    + " is not one this scan covers");
            require(settings.contains(c.setting()), file, lineNo, "setting " + c.setting()
                    + " is not one this scan covers");
            require(c.layer() >= -1, file, lineNo, "layer = " + c.layer() + " is below -1");
            require(c.parameters() > 0, file, lineNo, "parameters = " + c.parameters() + " is not positive");
            require(c.fdt75() >= 0 && c.fdt75() <= n, file, lineNo, "fdt75 = " + c.fdt75()
                    + " is outside [0, N = " + n + "]");
            require(Double.isFinite(c.seconds()) && c.seconds() >= 0, file, lineNo, "seconds = " + c.seconds()
                    + " is not a time");
            Aggregates a = c.aggregates();
            int samples = a.fdt().count();
            require(samples >= 1, file, lineNo, "aggregates.fdt.count = " + samples + " is below 1");
            within(a.fdt(), "fdt", 0, n, samples, file, lineNo);
            within(a.sdt(), "sdt", 0, n, samples, file, lineNo);
            within(a.sdtShare(), "sdtShare", 0, 1, samples, file, lineNo);
            within(a.top1Agreement(), "top1Agreement", 0, 1, samples, file, lineNo);
            require(a.fdt().min() <= c.fdt75() && c.fdt75() <= a.fdt().max(), file, lineNo, "fdt75 = " + c.fdt75()
                    + " is outside the samples' FDT range [" + a.fdt().min() + ", " + a.fdt().max() + "]");
            require(a.identical() >= 0 && a.identical() <= samples, file, lineNo, "identical = "
                    + a.identical() + " is outside [0, " + samples + " samples]");
            require(a.tokens() >= samples && a.tokens() <= (long) samples * n, file, lineNo, "tokens = " + a.tokens()
                    + " is outside [" + samples + ", " + samples + " samples x N = " + n + "]");
            for (Summary s : List.of(a.nll(), a.perplexity(), a.deltaP())) {
                require(s.count() == samples, file, lineNo, "a summary counts " + s.count() + " values, not the "
                        + samples + " samples");
            }
            require(a.kl().count() == 0 || a.kl().count() == samples, file, lineNo, "aggregates.kl.count = "
                    + a.kl().count() + " is neither 0 nor the " + samples + " samples");
        }

        private static void within(Summary s, String name, double lo, double hi, int samples, Path file, int lineNo) {
            require(s.count() == samples, file, lineNo, "aggregates." + name + ".count = " + s.count()
                    + ", not the " + samples + " samples");
            double[] figures = {s.min(), s.p10(), s.p25(), s.median(), s.p75(), s.p90(), s.max()};
            for (double v : figures) {
                require(v >= lo && v <= hi, file, lineNo, "aggregates." + name + " holds " + v + ", outside ["
                        + fmt(lo) + ", " + fmt(hi) + "]");
            }
            for (int i = 1; i < figures.length; i++) {
                require(figures[i - 1] <= figures[i], file, lineNo, "aggregates." + name
                        + " has percentiles out of order");
            }
            require(s.mean() >= s.min() - 1e-9 * Math.max(1, hi) && s.mean() <= s.max() + 1e-9 * Math.max(1, hi),
                    file, lineNo, "aggregates." + name + ".mean = " + s.mean() + " is outside its min and max");
        }

        private static String fmt(double v) {
            return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
        }

        private static void require(boolean ok, Path file, int lineNo, String why) {
            if (!ok) {
                throw damaged(file, lineNo, why);
            }
        }
    }

    /** The cells finished by earlier runs, in the order they were written. */
    public List<ScanCell> done() {
        return List.copyOf(done);
    }

    /** Appends a finished cell and forces it to disk. */
    public void append(ScanCell cell) {
        try {
            appendLine(JSON.writeValueAsString(cell));
            done.add(cell);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the scan checkpoint " + file + ": " + e.getMessage(), e);
        }
    }

    /** Appends one JSON object as a line, with its checksum, and forces it to disk. */
    private void appendLine(String objectJson) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap((withChecksum(objectJson) + "\n").getBytes(StandardCharsets.UTF_8));
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
        channel.force(false);
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
