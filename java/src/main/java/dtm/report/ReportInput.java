package dtm.report;

import dtm.scan.Int8Search;
import dtm.scan.PlanOutcome;
import dtm.scan.PruningSearch;
import dtm.scan.ScanResult;
import dtm.scan.TextSample;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a scan report shows (docs/report.md): the scan, the plans evaluated against their
 * baselines, what the searches found on the way, text samples of every plan, and free facts
 * about the run for people.
 *
 * @param title     the report's heading
 * @param scan      the scan (its cells feed the heatmaps, curves and rank comparison)
 * @param outcomes  plans evaluated as whole candidates, in the order to show (the guided plan
 *                  first, then its baselines); may be empty
 * @param pruning   the pruning searches, for the allocation per component and step; null = none
 * @param int8      the int8 searches, for the prefix curve; null = none
 * @param samples   per plan (by outcome name), text samples of base and candidate; may be empty
 * @param fp32Bytes bytes of the uncompressed base's weights, to show each plan's size against;
 *                  0 = unknown
 * @param metadata  free label → value pairs (command line, machine, dtm version, …), shown in
 *                  this order
 */
public record ReportInput(String title, ScanResult scan, List<PlanOutcome> outcomes, PruningSearch.Comparison pruning,
                          Int8Search.Comparison int8, Map<String, List<TextSample>> samples, long fp32Bytes,
                          Map<String, String> metadata) {
    public ReportInput {
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(scan, "scan");
        outcomes = List.copyOf(outcomes);
        samples = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(samples, "samples")));
        if (fp32Bytes < 0) {
            throw new IllegalArgumentException("fp32 bytes must be >= 0 (0 = unknown), got " + fp32Bytes);
        }
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(metadata, "metadata")));
    }

    /** A report of a scan and evaluated plans without the searches' details or text samples. */
    public ReportInput(String title, ScanResult scan, List<PlanOutcome> outcomes, long fp32Bytes,
                       Map<String, String> metadata) {
        this(title, scan, outcomes, null, null, Map.of(), fp32Bytes, metadata);
    }

    /** A plan's size against the fp32 base (e.g. 0.27), NaN when the base's size is unknown. */
    public double sizeVsFp32(PlanOutcome o) {
        return fp32Bytes == 0 ? Double.NaN : (double) o.bytes() / fp32Bytes;
    }
}
