package dtm.cli;

import dtm.engine.Device;
import dtm.engine.Engine;
import dtm.engine.Isa;
import dtm.model.SessionOptions;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/** --threads, --isa and --device: how and where a session computes. */
final class SessionSelection {
    @Option(names = "--threads", paramLabel = "T",
            description = "Worker threads (default: all CPUs); at most 4 per CPU, and at least 64 are "
                    + "always allowed.")
    int threads;

    @Option(names = "--isa", paramLabel = "ISA", converter = IsaConverter.class,
            description = {"Kernel path: auto, scalar, avx2 or avx512 (default: auto, the best this CPU "
                    + "supports, or $DTM_ISA when set). All paths give the same tokens."})
    Isa isa = Isa.AUTO;

    @Option(names = "--device", paramLabel = "DEVICE",
            description = "Device to run on: cpu (the default) or cuda:N, where this build and machine have it "
                    + "('dtm info' lists them). May also come before the command: dtm --device cuda:0 eval ...")
    String device;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    /** --device of the command, else the one given before it (dtm --device D COMMAND), else cpu. */
    String device() {
        if (device != null) {
            return device;
        }
        Object root = command != null ? command.root().userObject() : null;
        if (root instanceof DtmCommand dtm && dtm.device != null) {
            return dtm.device;
        }
        return Device.CPU;
    }

    SessionOptions options() {
        if (threads < 0) {
            throw new IllegalArgumentException("--threads must be >= 0, got " + threads);
        }
        int max = Engine.maxThreads();
        if (threads > max) {
            throw new IllegalArgumentException("--threads must be at most " + max + " (4 per CPU, at least 64) on "
                    + "this machine, got " + threads);
        }
        return SessionOptions.defaults().withThreads(threads).withIsa(isa).withDevice(device());
    }

    /** Parses auto|scalar|avx2|avx512. */
    static final class IsaConverter implements ITypeConverter<Isa> {
        @Override
        public Isa convert(String value) {
            try {
                return Isa.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("expected auto, scalar, avx2 or avx512, got '" + value + "'");
            }
        }
    }
}
