package dtm.scan;

import java.util.List;
import java.util.Objects;

/**
 * A whole scan: components × settings, each cell evaluated against the same reference.
 *
 * @param base      the base model (path or name) and its fingerprint
 * @param reference what the reference is (prompt set, N), for people
 * @param n         continuation length N (FDT's largest value)
 * @param settings  the settings scanned, in {@link dtm.model.Compression}'s text form, in order
 * @param cells     every finished cell, in component order then setting order
 * @param seconds   wall time of the whole scan
 */
public record ScanResult(String base, String reference, int n, List<String> settings, List<ScanCell> cells,
                         double seconds) {
    public ScanResult {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(reference, "reference");
        settings = List.copyOf(settings);
        cells = List.copyOf(cells);
    }

    /** The cell of a component and setting, or null when the scan does not have it. */
    public ScanCell cell(String component, String setting) {
        for (ScanCell c : cells) {
            if (c.component().equals(component) && c.setting().equals(setting)) {
                return c;
            }
        }
        return null;
    }
}
