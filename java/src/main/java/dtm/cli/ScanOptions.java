package dtm.cli;

import dtm.metrics.RunOptions;
import dtm.model.Compression;
import dtm.scan.Scan;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What dtm scan and dtm plan scan, and where they write: the options they share. */
final class ScanOptions {
    /** Prompts a scan uses when --count is not given: 64 keeps the main job within minutes on 2 cores. */
    static final int DEFAULT_PROMPT_COUNT = 64;
    /** The checkpoint's file name in the output directory. */
    static final String CHECKPOINT_FILE = "scan-checkpoint.jsonl";

    @Option(names = "--components", paramLabel = "PATTERN", split = ",", defaultValue = "model.layers.*",
            description = {"Components to scan: names or patterns ('*', '?', '[a-b]' layer ranges), "
                    + "comma-separated or repeated (default: ${DEFAULT-VALUE}, every decoder matrix). The token "
                    + "embedding is never scanned; 'lm_head' adds the output head."})
    List<String> components;

    @Option(names = "--settings", paramLabel = "SPEC", split = ",",
            defaultValue = "magnitude:0.25,magnitude:0.5,magnitude:0.75,magnitude:0.9,magnitude:0.95,int8,"
                    + "int8-outlier,q4_0",
            description = {"Compressions to try on each component, comma-separated (default: ${DEFAULT-VALUE}). "
                    + "SPEC: magnitude:S, wanda:S, N:M, int8, int8-outlier[:T], int8-weight, q8_0, q4_0."})
    List<String> settings;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "dtm-report",
            description = {"Directory for the report (report.html, scan.json, CSV files), the plans and the scan's "
                    + "checkpoint (default: ${DEFAULT-VALUE}). A rerun with the same base, prompts and scan "
                    + "options resumes the scan from its checkpoint."})
    Path out;

    @Option(names = "--fresh", description = "Start the scan afresh: delete the checkpoint in --out first.")
    boolean fresh;

    @Option(names = "--no-layer-cache",
            description = "Run every layer for every cell instead of starting at the component's layer from "
                    + "cached layer inputs (slower, the same results; for comparison).")
    boolean noLayerCache;

    @Option(names = "--reference", paramLabel = "FILE",
            description = "The base's reference file (default: the cache file of these prompt settings; made "
                    + "when missing).")
    Path reference;

    @Option(names = "--refresh", description = "Regenerate the reference even if its file exists.")
    boolean refresh;

    @Option(names = "--calibration-count", paramLabel = "COUNT", defaultValue = "64",
            description = "Wanda settings only: calibration windows of 128 tokens from the prompt text "
                    + "(default: ${DEFAULT-VALUE}).")
    int calibrationCount;

    @Mixin
    ProgressOption progress;

    /** The settings parsed. */
    List<Compression> compressions() {
        return settings.stream().map(Compression::parse).toList();
    }

    /** Whether a setting needs Wanda's calibration pass. */
    boolean needsCalibration() {
        return compressions().stream().anyMatch(c -> c.kind() == Compression.Kind.WANDA);
    }

    /** The checkpoint file in the output directory. */
    Path checkpoint() {
        return out.resolve(CHECKPOINT_FILE);
    }

    /** The scan these options describe; creates --out and, with --fresh, removes the old checkpoint. */
    Scan.Options scan(RunOptions run) throws IOException {
        Files.createDirectories(out);
        if (fresh) {
            Files.deleteIfExists(checkpoint());
        }
        return new Scan.Options(components, compressions(), !noLayerCache, checkpoint(), run);
    }
}
