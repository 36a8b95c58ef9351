package dtm.engine;

import dtm.bindings.Dtm;
import org.bytedeco.javacpp.Loader;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Facts about the native engine as a whole: its version and the instruction sets this CPU
 * offers. The first use of any dtm class that touches native code loads the libraries
 * ({@code libjniDtm.so} and {@code libdtm.so}) from the jar; no {@code LD_LIBRARY_PATH} is
 * needed.
 */
public final class Engine {
    private Engine() {
    }

    /**
     * Loads the native libraries now (they load on first use anyway). Useful to fail early
     * with a clear error.
     *
     * @throws UnsatisfiedLinkError when the libraries cannot be loaded on this platform
     */
    public static void load() {
        Loader.load(Dtm.class);
    }

    /** The engine's version, e.g. "0.1.0". */
    public static String version() {
        return Dtm.dtm_version().getString(StandardCharsets.UTF_8);
    }

    /**
     * The most worker threads a session or a compression accepts (dtm_max_threads): 4 per online
     * CPU, at least 64. More threads never compute faster than one per CPU.
     */
    public static int maxThreads() {
        return Dtm.dtm_max_threads();
    }

    /** The devices this build and machine can run, the CPU first (dtm_n_devices, dtm_device). */
    public static List<Device> devices() {
        int n = Dtm.dtm_n_devices();
        List<Device> devices = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            try (Dtm.dtm_device_info info = new Dtm.dtm_device_info()) {
                Errors.check(Dtm.dtm_device(i, info), () -> "cannot describe a device");
                devices.add(new Device(info.name().getString(StandardCharsets.UTF_8),
                        info.description().getString(StandardCharsets.UTF_8),
                        info.memory_bytes(), info.compute_units()));
            }
        }
        return List.copyOf(devices);
    }

    /** The best kernel path this CPU supports (never {@link Isa#AUTO}). */
    public static Isa bestIsa() {
        return Isa.ofCode(Dtm.dtm_cpu_best_isa());
    }

    /** Whether this CPU can run the given path ({@link Isa#AUTO} always can). */
    public static boolean supports(Isa isa) {
        return isa == Isa.AUTO || Dtm.dtm_cpu_supports_isa(isa.code()) != 0;
    }
}
