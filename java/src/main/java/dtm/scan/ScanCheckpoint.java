package dtm.scan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The checkpoint of a scan: a JSON-lines file whose first line says what the scan is (schema
 * {@value #SCHEMA}, base, reference, components, settings) and each further line is one finished
 * {@link ScanCell}. A line is appended and forced to disk as soon as its cell is done, so a
 * killed scan loses at most the cell it was computing; a last line cut short by the kill is
 * dropped on resume. A checkpoint of another scan is refused, never overwritten.
 */
public final class ScanCheckpoint implements AutoCloseable {
    /** Schema of the header line. */
    public static final String SCHEMA = "dtm.scan-checkpoint/1";

    private static final ObjectMapper JSON = new ObjectMapper();

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
     *
     * @throws IllegalArgumentException the file is the checkpoint of another scan, or not one at all
     */
    public static ScanCheckpoint open(Path file, ObjectNode header) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(header, "header");
        header.put("schema", SCHEMA);
        try {
            List<ScanCell> cells = new ArrayList<>();
            long keep = 0;
            if (Files.exists(file) && Files.size(file) > 0) {
                // Lines are cut in the bytes: '\n' never occurs inside a multi-byte UTF-8 sequence.
                byte[] bytes = Files.readAllBytes(file);
                int lineStart = 0;
                int lineNo = 0;
                while (lineStart < bytes.length) {
                    int end = lineStart;
                    while (end < bytes.length && bytes[end] != '\n') {
                        end++;
                    }
                    if (end == bytes.length) {
                        break;  // a last line without its newline: cut short by a kill, dropped
                    }
                    String line = new String(bytes, lineStart, end - lineStart, StandardCharsets.UTF_8);
                    if (lineNo == 0) {
                        JsonNode theirs = parse(line, file);
                        if (!theirs.equals(header)) {
                            throw new IllegalArgumentException("the checkpoint " + file + " belongs to another scan "
                                    + "(other base, reference, components or settings); remove it or choose "
                                    + "another --checkpoint");
                        }
                    } else {
                        cells.add(JSON.treeToValue(parse(line, file), ScanCell.class));
                    }
                    lineNo++;
                    lineStart = end + 1;
                    keep = lineStart;
                }
            }
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
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

    private static JsonNode parse(String line, Path file) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new IllegalArgumentException("the checkpoint " + file + " is not a dtm scan checkpoint: "
                    + e.getMessage(), e);
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

    private void appendLine(String line) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
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
