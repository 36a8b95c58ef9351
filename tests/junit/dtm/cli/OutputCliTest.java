package dtm.cli;

import dtm.data.DefaultModel;
import dtm.model.Model;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Output paths: no command writes over its own input, over something that is no regular file, or
 * over a file it did not write unless --force (issue 12, item 9); and what compress and the
 * scan metadata report about themselves (item 16).
 */
class OutputCliTest {
    private static final String COMPRESS = "model.layers.0.*=int8";
    private static DefaultModel.ModelFiles files;

    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    private Path model;
    private Path tokenizer;

    @BeforeAll
    static void fetch() throws IOException {
        files = DefaultModel.fetch();
    }

    /** A copy of the default model, so that no failure here can harm the cache. */
    @BeforeEach
    void copyModel() throws IOException {
        model = Files.copy(files.model(), tmp.resolve("model.bin"));
        tokenizer = Files.copy(files.tokenizer(), tmp.resolve("tokenizer.bin"));
    }

    private int compress(Path out, String... more) {
        String[] args = {"compress", "--model", model.toString(), "--compress", COMPRESS, "--threads", "2",
                "-o", out.toString()};
        String[] all = new String[args.length + more.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return Main.run(all);
    }

    private void assertRefused(int code, Path out, String why) {
        assertEquals(Main.EXIT_ERROR, code, console.err());
        String err = console.err();
        assertTrue(err.startsWith("dtm: refusing to write " + out + ": "), err);
        assertTrue(err.contains(why), err);
        assertEquals(1, err.lines().count(), err);
    }

    @Test
    void compressOntoItsOwnModelIsRefusedAndTheModelStays() throws IOException {
        byte[] before = Files.readAllBytes(model);
        assertRefused(compress(model), model, "it is the --model input of this command");
        assertArrayEquals(before, Files.readAllBytes(model));
        console.reset();
        assertRefused(compress(model, "--force"), model, "it is the --model input of this command");
        assertArrayEquals(before, Files.readAllBytes(model));
    }

    @Test
    void aLinkToAnInputIsTheInput() throws IOException {
        byte[] before = Files.readAllBytes(model);
        Path link = Files.createSymbolicLink(tmp.resolve("link.safetensors"), model);
        assertRefused(compress(link), link, "it is the --model input of this command");
        assertArrayEquals(before, Files.readAllBytes(model));
        assertTrue(Files.isSymbolicLink(link));
    }

    @Test
    void aFifoOrADirectoryIsNoRegularFile() throws IOException, InterruptedException {
        Path fifo = tmp.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        assertRefused(compress(fifo, "--force"), fifo, "not a regular file");
        assertTrue(Files.exists(fifo) && !Files.isRegularFile(fifo) && !Files.isDirectory(fifo));
        console.reset();
        Path dir = Files.createDirectory(tmp.resolve("dir"));
        assertRefused(compress(dir, "--force"), dir, "it is a directory, not a regular file");
        assertTrue(Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aFileDtmDidNotWriteIsReplacedOnlyWithForce() throws IOException {
        Path out = tmp.resolve("notes.safetensors");
        Files.writeString(out, "my notes");
        assertRefused(compress(out), out, "it exists and is not a dtm candidate file; give --force to replace it");
        assertEquals("my notes", Files.readString(out));
        console.reset();
        assertEquals(0, compress(out, "--force"), console.err());
        assertFalse(Files.readString(out, StandardCharsets.ISO_8859_1).contains("my notes"));
        console.reset();
        assertEquals(0, compress(out), console.err());            // now dtm's own: replaced without --force
    }

    @Test
    void evalCsvOntoTheModelOrTheReferenceIsRefused() throws IOException {
        Path ref = tmp.resolve("base.dtmref");
        assertEquals(0, Main.run("reference", "--model", model.toString(), "--out", ref.toString(), "--count", "2",
                "--prompt-tokens", "8", "-n", "4"), console.err());
        byte[] reference = Files.readAllBytes(ref);
        byte[] weights = Files.readAllBytes(model);
        for (Path csv : new Path[] {model, ref}) {
            console.reset();
            int code = Main.run("eval", "--base", model.toString(), "--reference", ref.toString(), "--csv",
                    csv.toString(), "--force");
            assertRefused(code, csv, "input of this command");
        }
        assertArrayEquals(reference, Files.readAllBytes(ref));
        assertArrayEquals(weights, Files.readAllBytes(model));
        console.reset();
        Path csv = tmp.resolve("samples.csv");
        assertEquals(0, Main.run("eval", "--base", model.toString(), "--reference", ref.toString(), "--csv",
                csv.toString()), console.err());
        assertTrue(Files.readString(csv).startsWith(EvalCommand.SAMPLE_CSV_HEADER + "\n"));
        console.reset();
        assertEquals(0, Main.run("eval", "--base", model.toString(), "--reference", ref.toString(), "--csv",
                csv.toString()), console.err());                  // its own CSV: replaced
    }

    @Test
    void progressGoesToANonTerminalStderrAsLinesUnlessNoProgress() throws IOException {
        Path ref = tmp.resolve("r.dtmref");
        assertEquals(0, Main.run("reference", "--model", model.toString(), "--out", ref.toString(), "--count", "2",
                "--prompt-tokens", "8", "-n", "4"), console.err());
        assertTrue(console.err().lines().anyMatch(l -> l.matches("dtm: reference: 2/2 done in \\d+s")), console.err());
        console.reset();
        assertEquals(0, Main.run("reference", "--model", model.toString(), "--out", ref.toString(), "--count", "2",
                "--prompt-tokens", "8", "-n", "4", "--refresh", "--no-progress"), console.err());
        assertFalse(console.err().contains("dtm: reference:"), console.err());
    }

    @Test
    void referenceOutOntoAFileThatIsNoReferenceIsRefused() throws IOException {
        Path out = tmp.resolve("ref.dtmref");
        Files.writeString(out, "not a reference");
        assertRefused(Main.run("reference", "--model", model.toString(), "--out", out.toString(), "--count", "2",
                "--prompt-tokens", "8", "-n", "4"), out, "not a dtm reference file");
        assertEquals("not a reference", Files.readString(out));
    }

    @Test
    void aReportIntoAForeignDirectoryIsRefused() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("papers"));
        Files.writeString(dir.resolve("thesis.tex"), "\\documentclass{article}");
        assertRefused(Main.run("scan", "--model", model.toString(), "--out", dir.toString()), dir,
                "the directory is not empty and is not a dtm report directory; give --force to write into it");
        console.reset();
        assertRefused(Main.run("plan", "--model", model.toString(), "--out", tmp.toString()), tmp,
                "the directory holds " + model);
    }

    @Test
    void exportsRefuseTheirInputsAndForeignFiles() throws IOException {
        byte[] before = Files.readAllBytes(model);
        assertRefused(Main.run("export", "--model", model.toString(), "--format", "gguf", "--out", model.toString()),
                model, "it is the --model input of this command");
        assertArrayEquals(before, Files.readAllBytes(model));
        console.reset();
        Path foreign = tmp.resolve("other.gguf");
        Files.writeString(foreign, "GGUF? no");
        assertRefused(Main.run("export", "--model", model.toString(), "--format", "gguf", "--out",
                foreign.toString()), foreign, "not a GGUF file written by dtm");
        console.reset();
        Path gguf = tmp.resolve("model.gguf");
        assertEquals(0, Main.run("export", "--model", model.toString(), "--format", "gguf", "--out", gguf.toString()),
                console.err());
        assertTrue(OutputKind.GGUF.isOwn(gguf));
        console.reset();
        assertEquals(0, Main.run("export", "--model", model.toString(), "--format", "gguf", "--out", gguf.toString()),
                console.err());
        console.reset();
        Path hf = tmp.resolve("hf");
        assertEquals(0, Main.run("convert", "--model", model.toString(), "--out", hf.toString()), console.err());
        assertTrue(OutputKind.CHECKPOINT_DIRECTORY.isOwn(hf));
        console.reset();
        assertRefused(Main.run("export", "--model", hf.toString(), "--format", "hf", "--out", hf.toString()), hf,
                "input of this command");
    }

    @Test
    void compressCountsATiedHeadOnce() throws IOException {
        Path out = tmp.resolve("c.safetensors");
        assertEquals(0, compress(out), console.err());
        try (Model base = Model.load(model)) {
            assertTrue(base.config().sharedClassifier(), "the default model ties its head to the embedding");
            String expected = String.format(Locale.ROOT, "weights %,d -> ", base.storageBytes());
            assertTrue(console.err().contains(expected), console.err() + " lacks " + expected);
        }
    }

    @Test
    void theScanMetadataNamesTheCommandOnce() {
        CommandLine cli = Main.commandLine();
        CommandLine.ParseResult parsed = cli.parseArgs("plan", "--sparsity", "0.1", "--threads", "2");
        CommandLine.Model.CommandSpec plan = parsed.subcommand().commandSpec();
        assertEquals("dtm plan --sparsity 0.1 --threads 2", StudyCommand.commandLine(plan));
    }
}
