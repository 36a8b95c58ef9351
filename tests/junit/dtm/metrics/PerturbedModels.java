package dtm.metrics;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Random;

/**
 * Copies of a llama2.c model file with one weight matrix changed, for candidates in tests.
 *
 * <p>Layout (llama2.c's legacy export, little-endian): seven int32 (dim, hidden_dim, n_layers,
 * n_heads, n_kv_heads, vocab_size, seq_len), then fp32 token_embedding (vocab, dim), rms_att
 * (L, dim), wq (L, dim, dim), wk (L, kv_dim, dim), wv (L, kv_dim, dim), wo (L, dim, dim),
 * rms_ffn (L, dim), w1 (L, hidden, dim), w2 (L, dim, hidden), w3 (L, hidden, dim), ...
 */
final class PerturbedModels {
    /** The matrices this helper can change, in file order. */
    enum Matrix { WQ, WK, WV, WO, W1, W2, W3 }

    private PerturbedModels() {
    }

    /** A copy of {@code model} in {@code dir} with {@code matrix} of {@code layer} multiplied by {@code factor}. */
    static Path scaled(Path model, Path dir, String name, Matrix matrix, int layer, float factor) throws IOException {
        return change(model, dir, name, matrix, layer, (w, i) -> w.put(i, w.get(i) * factor));
    }

    /** A copy with Gaussian noise of standard deviation {@code sigma} (seeded) added to one matrix. */
    static Path noised(Path model, Path dir, String name, Matrix matrix, int layer, float sigma, long seed)
            throws IOException {
        Random random = new Random(seed);
        return change(model, dir, name, matrix, layer, (w, i) -> w.put(i, w.get(i) + (float) (sigma * random.nextGaussian())));
    }

    /** A copy with the first weight of {@code matrix} of {@code layer} set to {@code value} (NaN, infinity). */
    static Path withValue(Path model, Path dir, String name, Matrix matrix, int layer, float value)
            throws IOException {
        return change(model, dir, name, matrix, layer, (w, i) -> {
            if (i == 0) {
                w.put(i, value);
            }
        });
    }

    /**
     * A copy with one row of the token embedding multiplied by {@code factor}. With a shared
     * classifier that row is also the token's output weights, so a factor above 1 makes the
     * model choose that token more often (e.g. EOS, to exercise stop-at-EOS).
     */
    static Path scaledEmbeddingRow(Path model, Path dir, String name, int token, float factor) throws IOException {
        Path out = dir.resolve(name);
        Files.copy(model, out, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer head = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(head, 0);
            int dim = head.getInt(0);
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 28 + 4L * token * dim, 4L * dim);
            FloatBuffer w = map.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            for (int i = 0; i < dim; i++) {
                w.put(i, w.get(i) * factor);
            }
            map.force();
        }
        return out;
    }

    private interface Edit {
        void apply(FloatBuffer weights, int index);
    }

    private static Path change(Path model, Path dir, String name, Matrix matrix, int layer, Edit edit)
            throws IOException {
        Path out = dir.resolve(name);
        Files.copy(model, out, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer head = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(head, 0);
            head.flip();
            int dim = head.getInt();
            int hidden = head.getInt();
            int layers = head.getInt();
            int heads = head.getInt();
            int kvHeads = head.getInt();
            int vocab = Math.abs(head.getInt());
            int kvDim = dim / heads * kvHeads;
            long[] sizes = {
                    (long) dim * dim, (long) kvDim * dim, (long) kvDim * dim, (long) dim * dim,
                    (long) hidden * dim, (long) dim * hidden, (long) hidden * dim};
            long offset = (long) vocab * dim + (long) layers * dim; // token_embedding, rms_att
            for (Matrix m : Matrix.values()) {
                if (m == matrix) {
                    break;
                }
                offset += layers * sizes[m.ordinal()];
                if (m == Matrix.WO) {
                    offset += (long) layers * dim; // rms_ffn sits between wo and w1
                }
            }
            long size = sizes[matrix.ordinal()];
            offset += layer * size;
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 28 + 4 * offset, 4 * size);
            FloatBuffer w = map.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            for (int i = 0; i < size; i++) {
                edit.apply(w, i);
            }
            map.force();
        }
        return out;
    }
}
