package dtm.reference;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumMap;
import java.util.Map;
import java.util.Random;

import dtm.reference.Llama2cFileReader.Part;

/**
 * Writes small llama2.c files with random weights, for tests that compare the engine with the
 * reference on shapes of their choosing (GQA, separate classifier, odd sizes).
 *
 * <p>Weights are Gaussian and deterministic for a given config and seed: matrices with
 * standard deviation 1/sqrt(fan_in), the token embedding (also the classifier when shared) with
 * 1, a separate classifier with 1/sqrt(dim), and norm weights 1 + 0.1 * N(0, 1). The freq_cis
 * tables hold cos and sin of pos / 10000^(2i/head_size), as llama2.c's export writes them.
 */
public final class TinyLlama2cWriter {

    private TinyLlama2cWriter() {}

    /** Writes a random model; returns {@code file}. */
    public static Path writeRandom(Path file, Llama2cConfig config, long seed) throws IOException {
        write(file, config, randomWeights(config, seed));
        return file;
    }

    /** Shorthand for {@link #writeRandom(Path, Llama2cConfig, long)}. */
    public static Path writeRandom(Path file, int dim, int hiddenDim, int nLayers, int nHeads,
            int nKvHeads, int vocabSize, int seqLen, boolean sharedClassifier, long seed)
            throws IOException {
        return writeRandom(file, new Llama2cConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads,
                vocabSize, seqLen, sharedClassifier), seed);
    }

    /**
     * Random weights for every part that a file with this config stores (no {@link Part#WCLS}
     * when the classifier is shared), each row-major in the shape of
     * {@link Llama2cFileReader#shape}.
     */
    public static Map<Part, float[]> randomWeights(Llama2cConfig c, long seed) {
        Random random = new Random(seed);
        Map<Part, float[]> w = new EnumMap<>(Part.class);
        w.put(Part.TOKEN_EMBEDDING, gaussian(random, c, Part.TOKEN_EMBEDDING, 0.0, 1.0));
        w.put(Part.RMS_ATT, gaussian(random, c, Part.RMS_ATT, 1.0, 0.1));
        w.put(Part.WQ, gaussian(random, c, Part.WQ, 0.0, 1.0 / Math.sqrt(c.dim())));
        w.put(Part.WK, gaussian(random, c, Part.WK, 0.0, 1.0 / Math.sqrt(c.dim())));
        w.put(Part.WV, gaussian(random, c, Part.WV, 0.0, 1.0 / Math.sqrt(c.dim())));
        w.put(Part.WO, gaussian(random, c, Part.WO, 0.0, 1.0 / Math.sqrt(c.dim())));
        w.put(Part.RMS_FFN, gaussian(random, c, Part.RMS_FFN, 1.0, 0.1));
        w.put(Part.W1, gaussian(random, c, Part.W1, 0.0, 1.0 / Math.sqrt(c.dim())));
        w.put(Part.W2, gaussian(random, c, Part.W2, 0.0, 1.0 / Math.sqrt(c.hiddenDim())));
        w.put(Part.W3, gaussian(random, c, Part.W3, 0.0, 1.0 / Math.sqrt(c.dim())));
        w.put(Part.RMS_FINAL, gaussian(random, c, Part.RMS_FINAL, 1.0, 0.1));
        int half = c.headSize() / 2;
        float[] real = new float[c.seqLen() * half];
        float[] imag = new float[c.seqLen() * half];
        for (int pos = 0; pos < c.seqLen(); pos++) {
            for (int i = 0; i < half; i++) {
                double angle = pos / Math.pow(10000.0, (2.0 * i) / c.headSize());
                real[pos * half + i] = (float) Math.cos(angle);
                imag[pos * half + i] = (float) Math.sin(angle);
            }
        }
        w.put(Part.FREQ_CIS_REAL, real);
        w.put(Part.FREQ_CIS_IMAG, imag);
        if (!c.sharedClassifier()) {
            w.put(Part.WCLS, gaussian(random, c, Part.WCLS, 0.0, 1.0 / Math.sqrt(c.dim())));
        }
        return w;
    }

    /**
     * Writes a llama2.c file from explicit weights: every part the config stores must be
     * present with exactly {@link Llama2cFileReader#numel} values.
     */
    public static void write(Path file, Llama2cConfig c, Map<Part, float[]> weights)
            throws IOException {
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            ByteBuffer header = ByteBuffer.allocate(Llama2cConfig.HEADER_BYTES)
                    .order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(c.dim()).putInt(c.hiddenDim()).putInt(c.nLayers()).putInt(c.nHeads())
                    .putInt(c.nKvHeads()).putInt(c.headerVocabSize()).putInt(c.seqLen());
            writeFully(out, header.flip());
            for (Part part : Part.values()) {
                if (part == Part.WCLS && c.sharedClassifier()) {
                    continue;
                }
                float[] values = weights.get(part);
                long expected = Llama2cFileReader.numel(c, part);
                if (values == null || values.length != expected) {
                    throw new IllegalArgumentException(part + " needs " + expected + " values, got "
                            + (values == null ? "none" : values.length));
                }
                ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES)
                        .order(ByteOrder.LITTLE_ENDIAN);
                bytes.asFloatBuffer().put(values);
                writeFully(out, bytes);
            }
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
    }

    private static float[] gaussian(Random random, Llama2cConfig c, Part part, double mean,
            double std) {
        float[] values = new float[Math.toIntExact(Llama2cFileReader.numel(c, part))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (mean + std * random.nextGaussian());
        }
        return values;
    }
}
