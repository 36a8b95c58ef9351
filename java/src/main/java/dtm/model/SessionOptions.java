package dtm.model;

import dtm.engine.Device;
import dtm.engine.Isa;

import java.util.Objects;

/**
 * How to set up a session ({@code dtm_session_params}). Zero means "the engine's default".
 *
 * @param threads        worker threads; 0 = all online CPUs
 * @param isa            kernel path; {@link Isa#AUTO} = the best this CPU supports (or $DTM_ISA)
 * @param maxSequences   sequences decoded side by side in {@link Session#generate}; 0 = 1
 *                       (a larger batch is decoded in groups of this size)
 * @param maxBatchTokens tokens per forward chunk when scoring; 0 = 512
 * @param device         the device to run on: "cpu" (the default), "cuda:N"; one of
 *                       {@link dtm.engine.Engine#devices()}, else the session is refused as
 *                       unsupported
 */
public record SessionOptions(int threads, Isa isa, int maxSequences, int maxBatchTokens, String device) {
    public SessionOptions {
        Objects.requireNonNull(isa, "isa");
        Objects.requireNonNull(device, "device");
        if (device.isBlank()) {
            throw new IllegalArgumentException("device is empty: give cpu or cuda:N");
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (0 = all CPUs), got " + threads);
        }
        if (maxSequences < 0) {
            throw new IllegalArgumentException("maxSequences must be >= 0, got " + maxSequences);
        }
        if (maxBatchTokens < 0) {
            throw new IllegalArgumentException("maxBatchTokens must be >= 0, got " + maxBatchTokens);
        }
    }

    /** All CPUs, best kernel path, engine defaults for batch sizes. */
    public static SessionOptions defaults() {
        return new SessionOptions(0, Isa.AUTO, 0, 0, Device.CPU);
    }

    public SessionOptions withThreads(int threads) {
        return new SessionOptions(threads, isa, maxSequences, maxBatchTokens, device);
    }

    public SessionOptions withIsa(Isa isa) {
        return new SessionOptions(threads, isa, maxSequences, maxBatchTokens, device);
    }

    public SessionOptions withMaxSequences(int maxSequences) {
        return new SessionOptions(threads, isa, maxSequences, maxBatchTokens, device);
    }

    public SessionOptions withDevice(String device) {
        return new SessionOptions(threads, isa, maxSequences, maxBatchTokens, device);
    }

    public SessionOptions withMaxBatchTokens(int maxBatchTokens) {
        return new SessionOptions(threads, isa, maxSequences, maxBatchTokens, device);
    }
}
