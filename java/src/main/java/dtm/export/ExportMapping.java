package dtm.export;

import dtm.model.Component;
import dtm.model.ComponentKind;
import dtm.model.Model;
import dtm.model.WeightFormat;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * How each storage format leaves dtm (docs/export.md): the GGUF tensor type a matrix is written
 * in, and what a Hugging Face checkpoint holds. The engine applies the same rules
 * ({@code dtm_model_export_gguf}, {@code dtm_model_export_hf}) and refuses what a format cannot
 * hold; these say it to people before and after.
 */
public final class ExportMapping {
    private ExportMapping() {
    }

    /** The GGUF type a matrix stored in {@code format} is written in. */
    public static String ggufType(WeightFormat format) {
        return switch (format) {
            case FP32, SPARSE -> "F32";
            case FP16 -> "F16";
            case BF16 -> "BF16";
            case Q8_0, INT8, INT8_OUTLIER, INT8_WEIGHT -> "Q8_0";
            case Q4_0 -> "Q4_0";
        };
    }

    /** Whether GGUF holds {@code format} as dtm evaluated it, bitwise (else it is re-quantized to Q8_0). */
    public static boolean ggufExact(WeightFormat format) {
        return !(format == WeightFormat.INT8 || format == WeightFormat.INT8_OUTLIER
                || format == WeightFormat.INT8_WEIGHT);
    }

    /**
     * What a Hugging Face checkpoint holds for a matrix stored in {@code format}; null when the
     * checkpoint cannot hold it (the export refuses it).
     */
    public static String huggingFaceLayout(WeightFormat format) {
        return switch (format) {
            case FP32, SPARSE, FP16, BF16 -> "dense, in the checkpoint's dtype";
            case INT8 -> "compressed-tensors int-quantized (W8A8: int8 weights, per-channel scales, "
                    + "dynamic per-token activations)";
            case INT8_OUTLIER, INT8_WEIGHT, Q8_0, Q4_0 -> null;
        };
    }

    /**
     * One line per storage format of {@code model} that GGUF does not hold bitwise, naming how
     * many components it concerns and what they become; empty when every matrix is written as dtm
     * evaluated it.
     */
    public static List<String> ggufNotes(Model model) {
        Map<WeightFormat, List<String>> byFormat = new EnumMap<>(WeightFormat.class);
        for (Component c : model.components()) {
            if (c.kind() != ComponentKind.EMBEDDING && !ggufExact(c.format())) {
                byFormat.computeIfAbsent(c.format(), f -> new ArrayList<>()).add(c.name());
            }
        }
        List<String> notes = new ArrayList<>();
        for (Map.Entry<WeightFormat, List<String>> e : byFormat.entrySet()) {
            List<String> names = e.getValue();
            String which = names.size() == 1 ? names.get(0)
                    : names.size() + " components (" + names.get(0) + ", ...)";
            notes.add(which + ": " + e.getKey().label() + " has no GGUF type; written as Q8_0, quantized from "
                    + "the effective weights (blocks of 32 with one fp16 scale; llama.cpp also quantizes the "
                    + "activations in blocks of 32), so not bitwise what dtm evaluated");
        }
        return notes;
    }
}
