package dtm.metrics;

import dtm.model.ModelConfig;
import dtm.model.SessionOptions;

import java.util.Objects;

/**
 * How to compute (never what): session set-up, samples per native call, progress. Results do
 * not depend on these options.
 *
 * @param session      threads and kernel path of the sessions; when its maxSequences is 0,
 *                     reference generation decodes {@code chunkSamples} sequences side by side
 * @param chunkSamples samples per native call (generation and evaluation), so that progress can
 *                     advance between calls
 * @param progress     hears progress
 */
public record RunOptions(SessionOptions session, int chunkSamples, Progress progress) {
    /** Samples per native call by default. */
    public static final int DEFAULT_CHUNK_SAMPLES = 64;

    public RunOptions {
        Objects.requireNonNull(session, "session");
        Objects.requireNonNull(progress, "progress");
        if (chunkSamples < 1) {
            throw new IllegalArgumentException("chunkSamples must be >= 1, got " + chunkSamples);
        }
    }

    /** Default sessions, {@value #DEFAULT_CHUNK_SAMPLES} samples per call, no progress. */
    public static RunOptions defaults() {
        return new RunOptions(SessionOptions.defaults(), DEFAULT_CHUNK_SAMPLES, Progress.NONE);
    }

    public RunOptions withSession(SessionOptions session) {
        return new RunOptions(session, chunkSamples, progress);
    }

    public RunOptions withChunkSamples(int chunkSamples) {
        return new RunOptions(session, chunkSamples, progress);
    }

    public RunOptions withProgress(Progress progress) {
        return new RunOptions(session, chunkSamples, progress);
    }

    /** KV-cache memory that reference generation may take by default (decoding side by side). */
    static final long GENERATION_KV_BUDGET = 512L << 20;

    /**
     * The session options for generation: unless maxSequences is set, up to
     * {@code chunkSamples} sequences side by side, as many as fit a KV cache of
     * {@value #GENERATION_KV_BUDGET} bytes (each sequence takes a slot of the whole context).
     */
    SessionOptions generationSession(ModelConfig config, int samples) {
        if (session.maxSequences() != 0) {
            return session;
        }
        long perSequence = 2L * Float.BYTES * config.layers() * config.maxSeqLen()
                * (long) config.kvHeads() * config.headDim();
        long fit = Math.max(1, GENERATION_KV_BUDGET / Math.max(1, perSequence));
        return session.withMaxSequences((int) Math.max(1, Math.min(Math.min(chunkSamples, samples), fit)));
    }
}
