package dtm.scan;

import java.util.Objects;

/**
 * A component in the order of an int8 search: how it fared quantized alone.
 *
 * @param component  the component's name
 * @param parameters weights in it
 * @param fdt75      FDT_75 with only this component naively quantized (its scan cell)
 * @param fdtMean    mean FDT of that cell (breaks ties of FDT_75)
 * @param perplexity perplexity of y of that cell (the perplexity-ranked baseline's order)
 */
public record RankedComponent(String component, long parameters, int fdt75, double fdtMean, double perplexity) {
    public RankedComponent {
        Objects.requireNonNull(component, "component");
    }
}
