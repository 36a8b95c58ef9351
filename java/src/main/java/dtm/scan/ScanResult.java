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
 * @param seconds   wall time of this run of the scan (when it resumed from a checkpoint, of the
 *                  cells left only; see {@link #cellSeconds()})
 */
public record ScanResult(String base, String reference, int n, List<String> settings, List<ScanCell> cells,
                         double seconds) {
    public ScanResult {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(reference, "reference");
        settings = List.copyOf(settings);
        cells = List.copyOf(cells);
    }

    /** Σ of the cells' own wall times, whichever run computed them (layer-input captures not included). */
    public double cellSeconds() {
        double s = 0;
        for (ScanCell c : cells) {
            s += c.seconds();
        }
        return s;
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
