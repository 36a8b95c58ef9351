package dtm.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Atomic replacement: the new content or the old file, never a half file, never a leftover. */
class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void replacesTheFileReadableByAllAndLeavesNothingBeside() throws IOException {
        Path file = dir.resolve("plan.json");
        Files.writeString(file, "old");
        AtomicFiles.writeString(file, "new ✓");
        assertEquals("new ✓", Files.readString(file));
        AtomicFiles.write(file, new byte[] {1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(file));
        if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        }
        assertEquals(List.of("plan.json"), names());
    }

    @Test
    void aFailingWriterLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path file = dir.resolve("model.bin");
        Files.writeString(file, "old");
        IOException failure = new IOException("checksum mismatch");
        IOException thrown = assertThrows(IOException.class, () -> AtomicFiles.write(file, part -> {
            Files.writeString(part, "half");
            throw failure;
        }));
        assertSame(failure, thrown);
        assertEquals("old", Files.readString(file));
        assertEquals(List.of("model.bin"), names());
    }

    @Test
    void aFifoOrADirectoryIsNeverReplaced() throws IOException, InterruptedException {
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.writeString(fifo, "x"));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        assertTrue(Files.exists(fifo) && !Files.isRegularFile(fifo));
        Path sub = Files.createDirectory(dir.resolve("sub"));
        assertThrows(IOException.class, () -> AtomicFiles.writeString(sub, "x"));
        assertTrue(Files.isDirectory(sub));
        assertEquals(List.of("fifo", "sub"), names());
    }

    @Test
    void aSymbolicLinkStaysALinkAndItsFileIsReplaced() throws IOException {
        Path file = Files.writeString(dir.resolve("plan.json"), "old");
        Path link = Files.createSymbolicLink(dir.resolve("link.json"), file);
        AtomicFiles.writeString(link, "new");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("new", Files.readString(file));
    }

    private List<String> names() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
