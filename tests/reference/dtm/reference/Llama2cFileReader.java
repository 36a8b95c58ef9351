package dtm.reference;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Reads llama2.c checkpoint files for the LibTorch reference, independently of the dtm engine.
 *
 * <p>Layout (llama2.c's legacy export, all little-endian): the seven-int32 header of
 * {@link Llama2cConfig}, then fp32 tensors in the order of {@link Part}, each row-major with
 * the shape given by {@link #shape}. A file with a separate classifier (negative vocab_size)
 * stores {@link Part#WCLS} after everything else; otherwise the classifier is the token
 * embedding.
 *
 * <p>Tensor data is memory-mapped read-only in chunks of at most {@value #MAX_CHUNK_BYTES}
 * bytes, copied in bulk into memory owned by the caller, and each mapping is released right
 * after its copy. The reader holds only the open file channel.
 */
public final class Llama2cFileReader implements AutoCloseable {

    /** The tensors of a llama2.c file, in file order. */
    public enum Part {
        /** (vocab, dim) */
        TOKEN_EMBEDDING,
        /** (layer, dim) */
        RMS_ATT,
        /** (layer, n_heads*head_size, dim) */
        WQ,
        /** (layer, n_kv_heads*head_size, dim) */
        WK,
        /** (layer, n_kv_heads*head_size, dim) */
        WV,
        /** (layer, dim, n_heads*head_size) */
        WO,
        /** (layer, dim) */
        RMS_FFN,
        /** (layer, hidden_dim, dim) */
        W1,
        /** (layer, dim, hidden_dim) */
        W2,
        /** (layer, hidden_dim, dim) */
        W3,
        /** (dim) */
        RMS_FINAL,
        /** (seq_len, head_size/2); llama2.c's run.c ignores it and computes RoPE itself. */
        FREQ_CIS_REAL,
        /** (seq_len, head_size/2); unused, like {@link #FREQ_CIS_REAL}. */
        FREQ_CIS_IMAG,
        /** (vocab, dim); stored only when the header's vocab_size is negative. */
        WCLS
    }

    static final long MAX_CHUNK_BYTES = 1L << 30;

    private final Path file;
    private final FileChannel channel;
    private final Llama2cConfig config;
    private boolean closed;

    private Llama2cFileReader(Path file, FileChannel channel, Llama2cConfig config) {
        this.file = file;
        this.channel = channel;
        this.config = config;
    }

    /**
     * Opens a llama2.c file and validates its header against its size.
     *
     * @throws IOException if the file cannot be read, its header is invalid, or its size is not
     *     the size that its header implies
     */
    public static Llama2cFileReader open(Path file) throws IOException {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new IOException("llama2.c files are little-endian; this machine is not");
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long size = channel.size();
            if (size < Llama2cConfig.HEADER_BYTES) {
                throw new IOException(file + ": " + size + " bytes is too short for a header");
            }
            ByteBuffer header = ByteBuffer.allocate(Llama2cConfig.HEADER_BYTES)
                    .order(ByteOrder.LITTLE_ENDIAN);
            while (header.hasRemaining()) {
                if (channel.read(header, header.position()) < 0) {
                    throw new IOException(file + ": unexpected end of file in header");
                }
            }
            header.flip();
            int[] h = new int[7];
            for (int i = 0; i < h.length; i++) {
                h[i] = header.getInt();
            }
            Llama2cConfig config;
            try {
                config = new Llama2cConfig(
                        h[0], h[1], h[2], h[3], h[4], Math.abs(h[5]), h[6], h[5] > 0);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": invalid header " + Arrays.toString(h)
                        + ": " + e.getMessage(), e);
            }
            long expected = fileSize(config);
            if (size != expected) {
                throw new IOException(file + ": header " + Arrays.toString(h) + " implies "
                        + expected + " bytes but the file has " + size);
            }
            return new Llama2cFileReader(file, channel, config);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public Path file() {
        return file;
    }

    public Llama2cConfig config() {
        return config;
    }

    /** Shape of a part, including the leading layer dimension of per-layer parts. */
    public static long[] shape(Llama2cConfig c, Part part) {
        long layers = c.nLayers();
        long dim = c.dim();
        long qDim = (long) c.nHeads() * c.headSize();
        return switch (part) {
            case TOKEN_EMBEDDING, WCLS -> new long[] {c.vocabSize(), dim};
            case RMS_ATT, RMS_FFN -> new long[] {layers, dim};
            case WQ -> new long[] {layers, qDim, dim};
            case WK, WV -> new long[] {layers, c.kvDim(), dim};
            case WO -> new long[] {layers, dim, qDim};
            case W1, W3 -> new long[] {layers, c.hiddenDim(), dim};
            case W2 -> new long[] {layers, dim, c.hiddenDim()};
            case RMS_FINAL -> new long[] {dim};
            case FREQ_CIS_REAL, FREQ_CIS_IMAG -> new long[] {c.seqLen(), c.headSize() / 2};
        };
    }

    /** Number of floats in a part. */
    public static long numel(Llama2cConfig c, Part part) {
        long n = 1;
        for (long s : shape(c, part)) {
            n *= s;
        }
        return n;
    }

    /**
     * Byte offset of a part in the file. The classifier of a shared-classifier file is the
     * token embedding, so {@link Part#WCLS} then gives the embedding's offset.
     */
    public static long byteOffset(Llama2cConfig c, Part part) {
        if (part == Part.WCLS && c.sharedClassifier()) {
            return byteOffset(c, Part.TOKEN_EMBEDDING);
        }
        long offset = Llama2cConfig.HEADER_BYTES;
        for (Part p : Part.values()) {
            if (p == part) {
                return offset;
            }
            offset += numel(c, p) * Float.BYTES;
        }
        throw new AssertionError(part);
    }

    /** Exact size in bytes of a file with this header. */
    public static long fileSize(Llama2cConfig c) {
        long end = byteOffset(c, Part.FREQ_CIS_IMAG) + numel(c, Part.FREQ_CIS_IMAG) * Float.BYTES;
        return c.sharedClassifier() ? end : end + numel(c, Part.WCLS) * Float.BYTES;
    }

    /**
     * Reads a part into a new contiguous fp32 tensor of {@link #shape} that the caller owns
     * (close it, or let an enclosing {@link PointerScope} release it).
     */
    public Tensor readTensor(Part part) throws IOException {
        ensureOpen();
        long[] shape = shape(config, part);
        long n = numel(config, part);
        Tensor out = torch.zeros(shape, new TensorOptions(torch.ScalarType.Float));
        long offset = byteOffset(config, part);
        long chunkFloats = MAX_CHUNK_BYTES / Float.BYTES;
        try (PointerScope scope = new PointerScope()) {
            Tensor flat = out.view(n);
            for (long start = 0; start < n; start += chunkFloats) {
                long len = Math.min(chunkFloats, n - start);
                MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY,
                        offset + start * Float.BYTES, len * Float.BYTES);
                try {
                    FloatPointer src = new FloatPointer(
                            mapped.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
                    Tensor view = torch.from_blob(src, new long[] {len},
                            new TensorOptions(torch.ScalarType.Float));
                    flat.narrow(0, start, len).copy_(view);
                } finally {
                    Unmapper.unmap(mapped);
                }
            }
        }
        return out;
    }

    /** Reads a whole part into a Java array (bulk copy; the part must fit in one array). */
    public float[] readFloats(Part part) throws IOException {
        ensureOpen();
        long n = numel(config, part);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IOException(part + " has " + n + " floats, too many for a Java array");
        }
        float[] out = new float[(int) n];
        long offset = byteOffset(config, part);
        long chunkFloats = MAX_CHUNK_BYTES / Float.BYTES;
        for (long start = 0; start < n; start += chunkFloats) {
            int len = (int) Math.min(chunkFloats, n - start);
            MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY,
                    offset + start * Float.BYTES, (long) len * Float.BYTES);
            try {
                mapped.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out, (int) start, len);
            } finally {
                Unmapper.unmap(mapped);
            }
        }
        return out;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("reader for " + file + " is closed");
        }
    }

    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            channel.close();
        }
    }

    /**
     * Releases a mapping now rather than when the garbage collector finds it, through
     * sun.misc.Unsafe.invokeCleaner (module jdk.unsupported). Where that is unavailable the
     * mapping is left to the collector.
     */
    static final class Unmapper {
        private static final Object UNSAFE;
        private static final Method INVOKE_CLEANER;

        static {
            Object unsafe = null;
            Method invokeCleaner = null;
            try {
                Class<?> cls = Class.forName("sun.misc.Unsafe");
                Field f = cls.getDeclaredField("theUnsafe");
                f.setAccessible(true);
                unsafe = f.get(null);
                invokeCleaner = cls.getMethod("invokeCleaner", ByteBuffer.class);
            } catch (ReflectiveOperationException | RuntimeException e) {
                unsafe = null;
                invokeCleaner = null;
            }
            UNSAFE = unsafe;
            INVOKE_CLEANER = invokeCleaner;
        }

        private Unmapper() {}

        static void unmap(MappedByteBuffer buffer) {
            if (INVOKE_CLEANER == null) {
                return;
            }
            try {
                INVOKE_CLEANER.invoke(UNSAFE, buffer);
            } catch (ReflectiveOperationException e) {
                // Left to the garbage collector.
            }
        }
    }
}
