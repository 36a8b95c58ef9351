package dtm.scan;

import java.util.Objects;

/**
 * A component in the order of the FDT-guided int8 search: how it fared quantized alone.
 *
 * @param component  the component's name
 * @param parameters weights in it
 * @param fdt75      FDT_75 with only this component naively quantized (its scan cell)
 * @param fdtMean    mean FDT of that cell (breaks ties of FDT_75)
 */
public record RankedComponent(String component, long parameters, int fdt75, double fdtMean) {
    public RankedComponent {
        Objects.requireNonNull(component, "component");
    }
}
