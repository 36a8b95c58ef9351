package dtm.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;

/**
 * Writes files so that a crash never leaves a half file that looks whole (DESIGN.md §5): the
 * content goes to a temporary file {@code .NAME.<random>.part} in the target's directory, is
 * forced to disk and made {@code rw-r--r--}, then renamed over the target in one step (a plain
 * replacing move where the file system cannot move atomically), and the directory is synced
 * where the platform allows. Readers see the old file or the new one, never a mix; on failure
 * (a full disk too) the temporary file is deleted and the target is left as it was; a failure
 * of these writes (not one of a {@link Content}'s own) names the target.
 *
 * <p>The target's directory must exist.
 */
public final class AtomicFiles {

    /** Fills the temporary file that then replaces the target. */
    @FunctionalInterface
    public interface Content {
        /**
         * Writes the content into {@code part} (an empty file that exists). Throwing leaves the
         * target untouched.
         */
        void writeTo(Path part) throws IOException;
    }

    private AtomicFiles() {
    }

    /** Replaces {@code file} with {@code bytes}. */
    public static void write(Path file, byte[] bytes) throws IOException {
        Objects.requireNonNull(bytes, "bytes");
        write(file, part -> {
            try (FileChannel channel = FileChannel.open(part, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
            } catch (IOException e) {
                throw naming(file.toAbsolutePath(), e);
            }
        });
    }

    /** Replaces {@code file} with {@code text} in UTF-8. */
    public static void writeString(Path file, String text) throws IOException {
        Objects.requireNonNull(text, "text");
        write(file, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Replaces {@code file} with what {@code content} writes into the temporary file. */
    public static void write(Path file, Content content) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(content, "content");
        Path target = file.toAbsolutePath();
        if (Files.exists(target)) {
            if (!Files.isRegularFile(target)) {
                throw new IOException(target + " is not a regular file; refusing to replace it");
            }
            target = target.toRealPath(); // through a symbolic link: the link stays, its file is replaced
        }
        Path dir = target.getParent();
        Path part;
        try {
            part = Files.createTempFile(dir, "." + target.getFileName() + ".", ".part");
        } catch (IOException e) {
            throw naming(target, e);
        }
        try {
            content.writeTo(part);  // its own exceptions pass unchanged
        } catch (Throwable e) {
            Files.deleteIfExists(part);
            throw e;
        }
        try {
            try (FileChannel channel = FileChannel.open(part, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            if (part.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                // As files in a cache usually are; temporary files start as rw-------.
                Files.setPosixFilePermissions(part, PosixFilePermissions.fromString("rw-r--r--"));
            }
            try {
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(part, target, StandardCopyOption.REPLACE_EXISTING);
            }
            syncDirectory(dir);
        } catch (IOException e) {
            throw naming(target, e);
        } finally {
            Files.deleteIfExists(part);
        }
    }

    /**
     * {@code e} as an exception that names the file being written: a full disk says only "No
     * space left on device". One that names its file already (a FileSystemException) is kept.
     */
    private static IOException naming(Path target, IOException e) {
        if (e instanceof java.nio.file.FileSystemException) {
            return e;
        }
        return new IOException("cannot write " + target + ": " + e.getMessage() + " (the previous file, if any, is "
                + "left as it was)", e);
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not every platform can sync a directory; the rename itself is still atomic.
        }
    }
}
