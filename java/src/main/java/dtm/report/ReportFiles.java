package dtm.report;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The files of one scan report, all in one directory.
 *
 * @param html     the self-contained HTML page
 * @param json     the data, schema {@value ScanJson#SCHEMA}
 * @param cellsCsv one row per scan cell
 * @param plansCsv one row per plan outcome
 */
public record ReportFiles(Path html, Path json, Path cellsCsv, Path plansCsv) {
    public ReportFiles {
        Objects.requireNonNull(html, "html");
        Objects.requireNonNull(json, "json");
        Objects.requireNonNull(cellsCsv, "cellsCsv");
        Objects.requireNonNull(plansCsv, "plansCsv");
    }
}
