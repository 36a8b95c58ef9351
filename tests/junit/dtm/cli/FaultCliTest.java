package dtm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.metrics.Reference;
import dtm.scan.ScanCheckpoint;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults, as tests of processes: {@code dtm scan} and {@code dtm plan} killed with SIGKILL at
 * random points never leave a half-written file that looks whole, and a rerun resumes to the
 * cells (and plans) of an uninterrupted run; two processes filling one reference cache at once
 * leave an intact reference; a full disk (a small tmpfs) is one clear line and the previous
 * files stay as they were.
 */
class FaultCliTest {
    /** Small settings: each run takes seconds. */
    private static final String[] SCAN = {"--components", "model.layers.1.self_attn.q_proj,model.layers.4.mlp.down_proj",
            "--settings", "magnitude:0.3,int8,q4_0", "--count", "4", "--prompt-tokens", "8", "-n", "8",
            "--threads", "2", "--no-progress"};
    private static final String[] PLAN = {"--sparsity", "0.2", "--fdt-threshold", "4", "--ppl-windows", "2"};
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void aKilledScanLeavesNoHalfFileAndResumesToTheSameCells() throws Exception {
        killAndResume("scan", 4);
    }

    @Test
    void aKilledPlanLeavesNoHalfFileAndResumesToTheSamePlans() throws Exception {
        killAndResume("plan", 3);
    }

    private void killAndResume(String command, int seeds) throws Exception {
        Path logs = tmp.resolve("logs");
        Path cleanCache = DtmProcess.cache(tmp.resolve("cache-clean"));
        Path clean = tmp.resolve("clean");
        long start = System.nanoTime();
        assertEquals(0, DtmProcess.run(cleanCache, logs, "clean", args(command, clean)), DtmProcess.err(logs, "clean"));
        long wallMs = (System.nanoTime() - start) / 1_000_000;
        Map<String, JsonNode> expectedCells = cells(clean);
        Map<String, String> expectedPlans = plans(clean);

        for (int seed = 1; seed <= seeds; seed++) {
            Random random = new Random(seed * 7919L + command.hashCode());
            // A cache of its own, so that some kills land while the reference is being written.
            Path cache = DtmProcess.cache(tmp.resolve("cache-" + seed));
            Path out = tmp.resolve("out-" + seed);
            String name = command + "-" + seed;
            for (int kill = 0; kill < 2; kill++) {
                long delay = 200 + (long) (random.nextDouble() * wallMs);
                Process p = DtmProcess.start(cache, logs, name + "-killed-" + kill, args(command, out));
                boolean ended = p.waitFor(delay, TimeUnit.MILLISECONDS);
                if (!ended) {
                    p.destroyForcibly();  // SIGKILL
                    assertTrue(p.waitFor(1, TimeUnit.MINUTES), "a killed dtm did not end");
                }
                noHalfFileLooksWhole(out, name + " after a kill at " + delay + " ms");
                noHalfFileLooksWhole(cache.resolve("references"), name + " (reference cache) after a kill at "
                        + delay + " ms");
            }
            assertEquals(0, DtmProcess.run(cache, logs, name, args(command, out)), DtmProcess.err(logs, name));
            assertEquals(expectedCells, cells(out), name + ": the resumed scan has the cells of the uninterrupted one");
            assertEquals(expectedPlans, plans(out), name + ": the resumed run writes the same plans");
        }
    }

    @Test
    void twoProcessesFillingOneReferenceCacheLeaveAnIntactReference() throws Exception {
        Path logs = tmp.resolve("logs");
        Path cache = DtmProcess.cache(tmp.resolve("cache"));
        String[] ref = {"reference", "--count", "6", "--prompt-tokens", "8", "-n", "12", "--threads", "1",
                "--no-progress"};
        Reference expected = null;
        for (int round = 0; round < 3; round++) {
            String[] args = round == 0 ? ref : concat(ref, "--refresh");
            Process a = DtmProcess.start(cache, logs, "a" + round, args);
            Process b = DtmProcess.start(cache, logs, "b" + round, args);
            assertTrue(a.waitFor(3, TimeUnit.MINUTES) && b.waitFor(3, TimeUnit.MINUTES));
            assertEquals(0, a.exitValue(), DtmProcess.err(logs, "a" + round));
            assertEquals(0, b.exitValue(), DtmProcess.err(logs, "b" + round));
            List<Path> files = files(cache.resolve("references"));
            assertEquals(1, files.size(), "one reference file and no temporary one left: " + files);
            Reference r = Reference.load(files.get(0));
            if (expected == null) {
                expected = r;
            }
            assertTrue(expected.sameContent(r), "round " + round + ": the reference is the one of round 0");
        }
    }

    @Test
    void aFullDiskIsOneClearLineAndKeepsThePreviousFiles() throws Exception {
        Path mnt = Files.createDirectory(tmp.resolve("small-disk"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt.toString())
                .redirectErrorStream(true).start();
        String why = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        Assumptions.assumeTrue(mount.waitFor() == 0, "full-disk test skipped: cannot mount a tmpfs here (" + why + ")");
        try {
            Path logs = tmp.resolve("logs");
            Path cache = DtmProcess.cache(tmp.resolve("cache"));
            Path out = mnt.resolve("report");
            Path ref = mnt.resolve("base.dtmref");
            String[] refArgs = {"reference", "--count", "4", "--prompt-tokens", "8", "-n", "8", "--threads", "2",
                    "--no-progress", "--out", ref.toString()};
            assertEquals(0, DtmProcess.run(cache, logs, "ref", refArgs), DtmProcess.err(logs, "ref"));
            assertEquals(0, DtmProcess.run(cache, logs, "scan", args("scan", out)), DtmProcess.err(logs, "scan"));
            Map<Path, byte[]> before = new TreeMap<>();
            for (Path f : walk(mnt)) {
                before.put(f, Files.readAllBytes(f));
            }
            fill(mnt.resolve("filler"));

            assertEquals(1, DtmProcess.run(cache, logs, "ref-full", concat(refArgs, "--refresh")));
            assertOneClearLine(DtmProcess.err(logs, "ref-full"), ref);
            assertEquals(1, DtmProcess.run(cache, logs, "scan-full", args("scan", out)));
            assertOneClearLine(DtmProcess.err(logs, "scan-full"), out);

            Files.delete(mnt.resolve("filler"));
            assertEquals(List.copyOf(before.keySet()), walk(mnt), "no file added or lost (no temporary file left)");
            for (Map.Entry<Path, byte[]> e : before.entrySet()) {
                assertArrayEquals(e.getValue(), Files.readAllBytes(e.getKey()), e.getKey() + " was kept as it was");
            }
        } finally {
            new ProcessBuilder("umount", mnt.toString()).inheritIO().start().waitFor();
        }
    }

    // ------------------------------------------------------------------------------------

    private static void assertOneClearLine(String err, Path where) {
        // Stages said on stderr before it ("dtm: generating the reference ...") are no errors.
        List<String> lines = err.strip().lines().toList();
        assertEquals(1, lines.stream().filter(l -> l.contains("No space")).count(), err);
        String line = lines.get(lines.size() - 1);
        assertTrue(line.startsWith("dtm: "), line);
        assertTrue(line.contains("No space left on device"), line);
        assertTrue(line.contains(where.toString()), "the message names the file: " + line);
    }

    /** Writes zeros into {@code file} until the file system is full. */
    private static void fill(Path file) throws IOException {
        byte[] block = new byte[4096];
        try (OutputStream o = Files.newOutputStream(file)) {
            while (true) {
                o.write(block);
            }
        } catch (IOException full) {
            // the disk is full
        }
    }

    private static String[] args(String command, Path out) {
        String[] a = concat(new String[] {command}, SCAN);
        a = concat(a, "--out", out.toString());
        return command.equals("plan") ? concat(a, PLAN) : a;
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** scan.json's cells by component and setting, without their wall time. */
    private static Map<String, JsonNode> cells(Path dir) throws IOException {
        Map<String, JsonNode> cells = new TreeMap<>();
        for (JsonNode c : JSON.readTree(dir.resolve("scan.json").toFile()).get("cells")) {
            ObjectNode copy = ((ObjectNode) c).deepCopy();
            copy.remove("seconds");
            cells.put(c.get("component").asText() + " " + c.get("setting").asText(), copy);
        }
        return cells;
    }

    private static Map<String, String> plans(Path dir) throws IOException {
        Map<String, String> plans = new TreeMap<>();
        for (Path f : files(dir)) {
            if (f.getFileName().toString().startsWith("plan-")) {
                plans.put(f.getFileName().toString(), Files.readString(f));
            }
        }
        return plans;
    }

    /**
     * Every file of dtm's in {@code dir} is whole or absent: JSON parses, a reference loads, CSV
     * and HTML end where they should, every finished checkpoint line checks (a last line without
     * its newline is the one a kill cut short, dropped on resume). Temporary files are hidden
     * ({@code .NAME.*.part}), never under a name dtm reads.
     */
    private void noHalfFileLooksWhole(Path dir, String when) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        for (Path f : files(dir)) {
            String name = f.getFileName().toString();
            byte[] bytes = Files.readAllBytes(f);
            String text = new String(bytes, StandardCharsets.UTF_8);
            String what = when + ": " + f;
            if (name.endsWith(".part")) {
                assertTrue(name.startsWith("."), what + " is a temporary file under a name dtm reads");
            } else if (name.endsWith(".json")) {
                JsonNode node = JSON.readTree(bytes);
                assertTrue(node != null && node.isObject(), what);
            } else if (name.endsWith(Reference.EXTENSION)) {
                assertEquals(Reference.load(f).prompts().size(), 4, what);
            } else if (name.endsWith(".csv")) {
                assertTrue(text.endsWith("\n"), what + " ends in the middle of a row");
                List<String> rows = text.lines().toList();
                long columns = rows.get(0).chars().filter(ch -> ch == ',').count();
                assertFalse(rows.isEmpty(), what + " has no header");
                assertEquals(columns, rows.get(rows.size() - 1).chars().filter(ch -> ch == ',').count(), what);
            } else if (name.endsWith(".html")) {
                assertTrue(text.stripTrailing().endsWith("</html>"), what + " is cut short");
            } else if (name.equals(ScanOptions.CHECKPOINT_FILE)) {
                checkpointChecks(f, what);
            } else {
                throw new AssertionError(what + ": a file this test does not know");
            }
        }
    }

    /** A copy of the checkpoint opens against its own header: every finished line checks. */
    private void checkpointChecks(Path f, String what) throws IOException {
        String text = Files.readString(f);
        if (text.indexOf('\n') < 0) {
            return;  // not even the header line is finished: resumed as an empty checkpoint
        }
        String header = text.substring(0, text.indexOf('\n'));
        ObjectNode h = (ObjectNode) JSON.readTree(header.replaceFirst(",\"crc32\":\"[0-9a-f]{8}\"}$", "}"));
        Path copy = tmp.resolve("checkpoint-copy.jsonl");
        Files.write(copy, text.getBytes(StandardCharsets.UTF_8));
        try (ScanCheckpoint cp = ScanCheckpoint.open(copy, h)) {
            long finished = text.lines().count() - (text.endsWith("\n") ? 1 : 2);
            assertEquals(finished, cp.done().size(), what);
        } catch (IllegalArgumentException e) {
            throw new AssertionError(what + ": " + e.getMessage(), e);
        }
        Files.delete(copy);
    }

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static List<Path> walk(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }
}
