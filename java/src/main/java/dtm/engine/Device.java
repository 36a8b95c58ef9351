package dtm.engine;

/**
 * A device a session can run on ({@code dtm_device_info}): what this build was compiled with and
 * this machine offers, listed by {@link Engine#devices()}.
 *
 * @param name          what {@link dtm.model.SessionOptions#device()} takes: "cpu", "cuda:0"
 * @param description   one line, e.g. "x86-64 CPU, kernels avx512 + VNNI"
 * @param memoryBytes   memory the device has (the CPU: physical RAM); 0 = unknown
 * @param computeUnits  the CPU: online CPUs; a GPU: multiprocessors
 */
public record Device(String name, String description, long memoryBytes, int computeUnits) {
    /** The device every build and machine has, and the default. */
    public static final String CPU = "cpu";
}
