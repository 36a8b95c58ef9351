package dtm.scan;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.metrics.Aggregates;
import dtm.metrics.Summary;
import dtm.model.ComponentKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scan checkpoint's lines carry a checksum and are range-checked on resume: edited, damaged
 * and impossible lines (hostile files written here) are refused naming the line and why; a
 * symbolic link is never followed.
 */
class ScanCheckpointTest {
    private static final int N = 16;
    private static final String DOWN = "model.layers.0.mlp.down_proj";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static ObjectNode header() {
        ObjectNode h = JSON.createObjectNode();
        h.put("baseModelSha256", "ab".repeat(32));
        h.put("tokenizerSha256", "cd".repeat(32));
        h.put("promptsSha256", "ef".repeat(32));
        h.put("n", N);
        h.put("topK", 16);
        h.put("stopAtEos", false);
        h.putArray("components").add(DOWN).add("lm_head");
        h.putArray("settings").add("int8").add("magnitude:0.5");
        return h;
    }

    private static Summary all(int count, double v) {
        return new Summary(count, v, v, v, v, v, v, v, v);
    }

    /** A cell of 4 samples that all have FDT = fdt. */
    private static ScanCell cell(String component, String setting, int fdt, double kl) {
        int samples = 4;
        double sdt = N - fdt;
        Aggregates a = new Aggregates(all(samples, fdt), all(samples, sdt), all(samples, sdt / N),
                all(samples, 1 - sdt / N), all(samples, 0.5), all(samples, Math.exp(0.5)), all(samples, -0.01),
                all(samples, kl), (long) samples * N, 0.5, Math.exp(0.5), fdt == N ? samples : 0);
        ComponentKind kind = component.equals("lm_head") ? ComponentKind.LM_HEAD : ComponentKind.DOWN_PROJ;
        return new ScanCell(component, kind, kind == ComponentKind.LM_HEAD ? -1 : 0, 1000, setting, a, fdt, 0.25);
    }

    /** A checkpoint with the header and two cells. */
    private Path written() throws IOException {
        Path file = tmp.resolve("scan-checkpoint.jsonl");
        Files.deleteIfExists(file);
        try (ScanCheckpoint cp = ScanCheckpoint.open(file, header())) {
            cp.append(cell(DOWN, "int8", N, 0.001));
            cp.append(cell("lm_head", "magnitude:0.5", 3, Double.NaN));
        }
        return file;
    }

    private static List<ScanCell> resume(Path file) {
        try (ScanCheckpoint cp = ScanCheckpoint.open(file, header())) {
            return cp.done();
        }
    }

    private static String refused(Path file) {
        return assertThrows(IllegalArgumentException.class, () -> resume(file)).getMessage();
    }

    /** Replaces line {@code index} (0 = header) by its object edited and given a fresh, valid checksum. */
    private static void rewrite(Path file, int index, Consumer<ObjectNode> edit) throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        ObjectNode node = (ObjectNode) JSON.readTree(lines.get(index));
        node.remove("crc32");
        edit.accept(node);
        lines.set(index, ScanCheckpoint.withChecksum(JSON.writeValueAsString(node)));
        Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
    }

    @Test
    void cellsComeBackAsWrittenWithAChecksumOnEveryLine() throws IOException {
        Path file = written();
        List<ScanCell> done = resume(file);
        assertEquals(List.of(cell(DOWN, "int8", N, 0.001), cell("lm_head", "magnitude:0.5", 3, Double.NaN)), done);
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        assertEquals(3, lines.size());
        for (String line : lines) {
            assertTrue(line.matches("\\{.*,\"crc32\":\"[0-9a-f]{8}\"}"), line);
            String body = line.substring(0, line.lastIndexOf(",\"crc32\"")) + "}";
            assertEquals(ScanCheckpoint.crc32(body), line.substring(line.length() - 10, line.length() - 2));
            assertTrue(JSON.readTree(line).isObject());
        }
        assertTrue(lines.get(0).contains("\"schema\":\"" + ScanCheckpoint.SCHEMA + "\""), lines.get(0));
    }

    @Test
    void aHandEditedLineFailsItsChecksum() throws IOException {
        Path file = written();
        String text = Files.readString(file, StandardCharsets.UTF_8);
        assertTrue(text.contains("\"fdt75\":3,"));
        Files.writeString(file, text.replace("\"fdt75\":3,", "\"fdt75\":9,"), StandardCharsets.UTF_8);
        String message = refused(file);
        assertTrue(message.startsWith("the checkpoint " + file + ", line 3: its checksum does not match"), message);
        assertTrue(message.contains("edited or damaged") && message.contains("--fresh"), message);
    }

    @Test
    void aDamagedByteFailsItsChecksum() throws IOException {
        Path file = written();
        byte[] bytes = Files.readAllBytes(file);
        int second = new String(bytes, StandardCharsets.UTF_8).indexOf('\n') + 10;
        bytes[second] ^= 0x01;
        Files.write(file, bytes);
        assertTrue(refused(file).contains(", line 2: "));
    }

    @Test
    void anFdtBeyondNIsRefusedEvenWithAValidChecksum() throws IOException {
        Path file = written();
        rewrite(file, 2, n -> n.put("fdt75", 91));
        assertTrue(refused(file).contains(", line 3: fdt75 = 91 is outside [0, N = 16]"), refused(file));
    }

    @Test
    void impossibleFiguresAreRefused() throws IOException {
        List<Consumer<ObjectNode>> edits = List.of(
                n -> ((ObjectNode) n.path("aggregates").path("sdtShare")).put("max", 1.5),
                n -> ((ObjectNode) n.path("aggregates").path("fdt")).put("p90", -1),
                n -> ((ObjectNode) n.path("aggregates")).put("identical", 5),
                n -> ((ObjectNode) n.path("aggregates")).put("tokens", 4 * N + 1),
                n -> ((ObjectNode) n.path("aggregates").path("nll")).put("count", 3),
                n -> ((ObjectNode) n.path("aggregates").path("fdt")).put("median", 0),
                n -> n.put("seconds", -1.0),
                n -> n.put("component", "model.layers.9.mlp.up_proj"),
                n -> n.put("setting", "q4_0"),
                n -> n.put("kind", "NO_SUCH_KIND"));
        List<String> expected = List.of("aggregates.sdtShare holds 1.5, outside [0, 1]",
                "aggregates.fdt holds -1.0, outside [0, 16]", "identical = 5 is outside [0, 4 samples]",
                "tokens = 65 is outside [4, 4 samples x N = 16]", "a summary counts 3 values, not the 4 samples",
                "aggregates.fdt has percentiles out of order", "seconds = -1.0 is not a time",
                "component model.layers.9.mlp.up_proj is not one this scan covers",
                "setting q4_0 is not one this scan covers", "it is not a scan cell");
        for (int i = 0; i < edits.size(); i++) {
            Path file = written();
            rewrite(file, 1, edits.get(i));
            String message = refused(file);
            assertTrue(message.contains(", line 2: " + expected.get(i)), message);
        }
    }

    @Test
    void aCellGivenTwiceIsRefused() throws IOException {
        Path file = written();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        Files.writeString(file, lines.get(1) + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        assertTrue(refused(file).contains(", line 4: the cell " + DOWN + " / int8 is given a second time"));
    }

    @Test
    void linesWithoutChecksumAndOldHeadersAreRefused() throws IOException {
        Path file = written();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        String bare = lines.get(1).substring(0, lines.get(1).lastIndexOf(",\"crc32\"")) + "}";
        Files.writeString(file, lines.get(0) + "\n" + bare + "\n", StandardCharsets.UTF_8);
        assertTrue(refused(file).contains(", line 2: it has no checksum"));

        Files.writeString(file, "{\"schema\":\"dtm.scan-checkpoint/1\",\"n\":16}\n", StandardCharsets.UTF_8);
        assertTrue(refused(file).contains("was written by another dtm version (dtm.scan-checkpoint/1"));
        Files.writeString(file, "not json\n", StandardCharsets.UTF_8);
        assertTrue(refused(file).contains("is not a dtm scan checkpoint"));
    }

    @Test
    void anotherScansCheckpointNamesOptionsThatExist() throws IOException {
        Path file = written();
        ObjectNode other = header().put("n", 32);
        String message = assertThrows(IllegalArgumentException.class, () -> ScanCheckpoint.open(file, other))
                .getMessage();
        assertTrue(message.contains("belongs to another scan") && message.contains("--fresh")
                && message.contains("--out") && !message.contains("--checkpoint"), message);
    }

    @Test
    void aLineCutShortByAKillIsDroppedAndTheScanResumes() throws IOException {
        Path file = written();
        Files.writeString(file, "{\"component\":\"lm_h", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        try (ScanCheckpoint cp = ScanCheckpoint.open(file, header())) {
            assertEquals(2, cp.done().size());
            cp.append(cell("lm_head", "int8", 5, 0.2));
        }
        assertEquals(3, resume(file).size());
        assertEquals(4, Files.readAllLines(file).size());
    }

    @Test
    void aSymbolicLinkIsRefusedNotFollowed() throws IOException {
        Path target = written();
        byte[] before = Files.readAllBytes(target);
        Path link = tmp.resolve("link.jsonl");
        Files.createSymbolicLink(link, target);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScanCheckpoint.open(link, header()));
        assertTrue(e.getMessage().contains(link + " is a symbolic link"), e.getMessage());
        Path dangling = tmp.resolve("dangling.jsonl");
        Files.createSymbolicLink(dangling, tmp.resolve("elsewhere.jsonl"));
        assertThrows(IllegalArgumentException.class, () -> ScanCheckpoint.open(dangling, header()));
        assertTrue(Files.notExists(tmp.resolve("elsewhere.jsonl")), "nothing is created through the link");
        assertEquals(new String(before, StandardCharsets.UTF_8),
                new String(Files.readAllBytes(target), StandardCharsets.UTF_8));

        Path dir = Files.createDirectory(tmp.resolve("dir.jsonl"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ScanCheckpoint.open(dir, header()))
                .getMessage().contains("is not a regular file"));
    }
}
