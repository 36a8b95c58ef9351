package dtm.metrics;

import dtm.data.PackageFetcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** SHA-256 of files (remembered per path, size and modification time) and of token arrays. */
final class Hashing {
    private static final int BUFFER = 1 << 20;
    private static final Map<String, String> FILE_HASHES = new ConcurrentHashMap<>();

    private Hashing() {
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }

    /** SHA-256 of a file's bytes, lower-case hex; a file seen before unchanged is not read again. */
    static String file(Path path) {
        try {
            Path real = path.toRealPath();
            BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class);
            String key = real + "\u0000" + a.size() + "\u0000" + a.lastModifiedTime().toMillis();
            String known = FILE_HASHES.get(key);
            if (known != null) {
                return known;
            }
            String hash = PackageFetcher.sha256(real);
            FILE_HASHES.put(key, hash);
            return hash;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot hash " + path + ": " + e.getMessage(), e);
        }
    }

    /** SHA-256 of a text's UTF-8 bytes, lower-case hex. */
    static String text(String text) {
        return hex(sha256().digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** SHA-256 of token sequences: for each, its length then its ids, all int32 little-endian. */
    static String tokens(List<int[]> sequences) {
        MessageDigest digest = sha256();
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] seq : sequences) {
            if (buffer.remaining() < 4) {
                flush(buffer, digest);
            }
            buffer.putInt(seq.length);
            int at = 0;
            while (at < seq.length) {
                if (buffer.remaining() < 4) {
                    flush(buffer, digest);
                }
                int n = Math.min(seq.length - at, buffer.remaining() / 4);
                buffer.asIntBuffer().put(seq, at, n);
                buffer.position(buffer.position() + 4 * n);
                at += n;
            }
        }
        flush(buffer, digest);
        return hex(digest.digest());
    }

    private static void flush(ByteBuffer buffer, MessageDigest digest) {
        buffer.flip();
        digest.update(buffer);
        buffer.clear();
    }
}
