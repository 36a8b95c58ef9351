package dtm.engine;

import dtm.bindings.Dtm;

import java.util.Locale;

/**
 * The engine's CPU kernel paths ({@code dtm_isa}). All paths give bitwise equal logits; they
 * differ only in speed. {@link #AUTO} takes the best the CPU supports, or {@code $DTM_ISA}
 * when set.
 */
public enum Isa {
    AUTO(Dtm.DTM_ISA_AUTO),
    SCALAR(Dtm.DTM_ISA_SCALAR),
    AVX2(Dtm.DTM_ISA_AVX2),
    AVX512(Dtm.DTM_ISA_AVX512);

    private final int code;

    Isa(int code) {
        this.code = code;
    }

    /** The C value. */
    public int code() {
        return code;
    }

    /** The lower-case name the CLI and {@code $DTM_ISA} use: auto, scalar, avx2, avx512. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The path with this C value. */
    public static Isa ofCode(int code) {
        for (Isa isa : values()) {
            if (isa.code == code) {
                return isa;
            }
        }
        throw new IllegalArgumentException("unknown instruction-set code " + code);
    }

    /** Parses auto, scalar, avx2 or avx512 (any case). */
    public static Isa parse(String name) {
        for (Isa isa : values()) {
            if (isa.cliName().equalsIgnoreCase(name.trim())) {
                return isa;
            }
        }
        throw new IllegalArgumentException(
                "unknown instruction set '" + name + "' (expected auto, scalar, avx2 or avx512)");
    }

    @Override
    public String toString() {
        return cliName();
    }
}
