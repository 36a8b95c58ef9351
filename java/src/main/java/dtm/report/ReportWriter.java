package dtm.report;

import dtm.data.AtomicFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Writes a scan report into a directory: {@value #HTML_FILE}, {@value #JSON_FILE},
 * {@value #CELLS_CSV_FILE} and {@value #PLANS_CSV_FILE}. Each file is written to a temporary
 * file in the same directory and renamed over the old one, so a crash never leaves a half file.
 */
public final class ReportWriter {
    /** The HTML page. */
    public static final String HTML_FILE = "report.html";
    /** The data as JSON. */
    public static final String JSON_FILE = "scan.json";
    /** The cells as CSV. */
    public static final String CELLS_CSV_FILE = "scan-cells.csv";
    /** The plan outcomes as CSV. */
    public static final String PLANS_CSV_FILE = "scan-plans.csv";

    private ReportWriter() {}

    /** Writes the four files into {@code directory} (created if missing), replacing old ones. */
    public static ReportFiles write(Path directory, ReportInput input) {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(input, "input");
        Path dir = directory.toAbsolutePath();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the report directory " + dir + ": " + e.getMessage(), e);
        }
        ReportFiles files = new ReportFiles(dir.resolve(HTML_FILE), dir.resolve(JSON_FILE),
                dir.resolve(CELLS_CSV_FILE), dir.resolve(PLANS_CSV_FILE));
        writeAtomically(files.json(), ScanJson.text(input));
        writeAtomically(files.cellsCsv(), ScanCsv.cells(input.scan().cells()));
        writeAtomically(files.plansCsv(), ScanCsv.plans(input));
        writeAtomically(files.html(), HtmlReport.render(input));
        return files;
    }

    /** Writes {@code text} (UTF-8) to {@code file} through a temporary file and a rename. */
    static void writeAtomically(Path file, String text) {
        try {
            AtomicFiles.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
