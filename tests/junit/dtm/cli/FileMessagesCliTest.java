package dtm.cli;

import dtm.data.DefaultModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A file that cannot be used fails with one line that says why, not only its path (issue 12, item 15). */
class FileMessagesCliTest {
    private static DefaultModel.ModelFiles files;

    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @BeforeAll
    static void fetch() throws IOException {
        files = DefaultModel.fetch();
    }

    @Test
    void exceptionsThatNameOnlyAPathAreToldInWords() {
        assertEquals("permission denied: /x/model.bin", Main.describe(new AccessDeniedException("/x/model.bin")));
        assertEquals("a file is in the way (it exists): /x/out",
                Main.describe(new FileAlreadyExistsException("/x/out")));
        assertEquals("not a directory: /x", Main.describe(new NotDirectoryException("/x")));
        assertEquals("/x: Read-only file system",
                Main.describe(new java.nio.file.FileSystemException("/x", null, "Read-only file system")));
    }

    @Test
    void textThatIsADirectoryOrMissingSaysSo() {
        assertEquals(Main.EXIT_ERROR, Main.run("reference", "--model", files.model().toString(), "--text",
                tmp.toString(), "--out", tmp.resolve("r.dtmref").toString()), console.err());
        assertEquals("dtm: --text " + tmp + " is a directory; give a file\n", console.err());
        console.reset();
        assertEquals(Main.EXIT_ERROR, Main.run("perplexity", "--model", files.model().toString(), "--text",
                tmp.toString()), console.err());
        assertEquals("dtm: --text " + tmp + " is a directory; give a file\n", console.err());
        console.reset();
        assertEquals(Main.EXIT_ERROR, Main.run("perplexity", "--model", files.model().toString(), "--text",
                tmp.resolve("missing.txt").toString()), console.err());
        assertEquals("dtm: --text " + tmp.resolve("missing.txt") + ": no such file\n", console.err());
    }

    @Test
    void outOnAFileWhereADirectoryBelongsSaysSo() throws IOException {
        Path file = Files.writeString(tmp.resolve("report"), "x");
        assertEquals(Main.EXIT_ERROR, Main.run("scan", "--model", files.model().toString(), "--out",
                file.toString()), console.err());
        assertEquals("dtm: refusing to write " + file + ": it is a regular file, not a directory\n", console.err());
        console.reset();
        Path dir = Files.createDirectory(tmp.resolve("dir"));
        assertEquals(Main.EXIT_ERROR, Main.run("reference", "--model", files.model().toString(), "--out",
                dir.toString()), console.err());
        assertEquals("dtm: refusing to write " + dir + ": it is a directory, not a regular file\n", console.err());
    }

    @Test
    void threadsAboveTheBoundAreRefusedBeforeAnyWork() {
        assertEquals(Main.EXIT_ERROR, Main.run("generate", "--threads", "2147483647", "--model",
                files.model().toString(), "Once"), console.err());
        assertTrue(console.err().startsWith("dtm: --threads must be at most "), console.err());
        assertTrue(console.err().contains("got 2147483647"), console.err());
    }
}
