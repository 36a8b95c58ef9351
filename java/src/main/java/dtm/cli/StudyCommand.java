package dtm.cli;

import dtm.engine.Engine;
import dtm.metrics.MetricText;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Calibration;
import dtm.model.Model;
import dtm.report.ReportFiles;
import dtm.report.ReportInput;
import dtm.report.ReportWriter;
import dtm.scan.CellRunner;
import dtm.scan.Int8Search;
import dtm.scan.Int8Selection;
import dtm.scan.PlanOutcome;
import dtm.scan.PlanStudy;
import dtm.scan.StepRecovery;
import dtm.metrics.Progress;
import dtm.scan.PruningSearch;
import dtm.scan.ScanCell;
import dtm.scan.ScanResult;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * What dtm scan and dtm plan share: load the base, find or make its reference, run a
 * {@link PlanStudy} (the scan, then the plans the subclass asks for), write the report and
 * print a summary.
 */
abstract class StudyCommand implements Callable<Integer> {
    @Mixin
    ModelSelection modelSelection;

    @Mixin
    ScanOptions scanOptions;

    @Mixin
    SparkOptions sparkOptions;

    @Mixin
    PromptOptions promptOptions;

    @Mixin
    SessionSelection sessionSelection;

    @Mixin
    CommonOptions common;

    @Mixin
    ForceOption force;

    @Spec
    CommandSpec spec;

    /** The pruning schedule, or null for no pruning plans. */
    abstract PruningSearch.Schedule pruning();

    /** The int8 search for a reference of {@code n} tokens, or null for no int8 plans. */
    abstract Int8Search.Options int8(int n);

    /** Seed of the random-order baseline. */
    abstract long seed();

    /** The text to measure each plan's text perplexity on, or null. */
    abstract String perplexityText() throws IOException;

    /** Windows of that text to score, from its start; 0 = all. */
    abstract int perplexityWindows();

    /**
     * Writes what the subclass makes besides the report (e.g. the plan files, marked as made for
     * {@code base}); returns their descriptions.
     */
    abstract List<String> writeExtras(Model base, PlanStudy.Result result) throws IOException;

    /** The command line as typed after "dtm", e.g. "dtm plan --sparsity 0.1" (originalArgs holds "plan"). */
    static String commandLine(CommandSpec spec) {
        CommandSpec root = spec;
        while (root.parent() != null) {
            root = root.parent();
        }
        return "dtm " + String.join(" ", root.commandLine().getParseResult().originalArgs());
    }

    /**
     * Recovery training between pruning steps, or null for none (dtm scan has none).
     *
     * @param reference the base's reference: its prompts are the evaluation prompts
     */
    StepRecovery recovery(Model base, Reference reference, RunOptions run, Progress progress) throws IOException {
        return null;
    }

    /** Adds what the report should say about the subclass's own options. */
    void addMetadata(Map<String, String> metadata) {
    }

    @Override
    public final Integer call() throws IOException {
        promptOptions.defaultCount = ScanOptions.DEFAULT_PROMPT_COUNT;
        scanOptions.compressions();                 // bad settings fail before any work
        PruningSearch.Schedule pruning = pruning();
        boolean optionsGiven = PromptOptions.NAMES.stream()
                .anyMatch(name -> spec.commandLine().getParseResult().hasMatchedOption(name));
        OutputGuard.of(spec, force, List.of("--out"), modelSelection.defaultInputs())
                .check(scanOptions.out, OutputKind.REPORT_DIRECTORY);
        PrintStream out = System.out;
        long start = System.nanoTime();
        try (Model base = modelSelection.load();
             CellRunner runner = sparkOptions.open(spec.commandLine());
             ProgressDisplay bars = scanOptions.progress.open()) {
            RunOptions run = RunOptions.defaults().withSession(sessionSelection.options()).withProgress(bars);
            ReferenceResolver.Resolved ref = ReferenceResolver.resolve(base, promptOptions, scanOptions.reference,
                    scanOptions.refresh, optionsGiven, run, System.err);
            Reference reference = ref.reference();
            int n = reference.settings().options().n();
            StepRecovery recovery = pruning == null ? null : recovery(base, reference, run, bars);
            PlanStudy.Options options = new PlanStudy.Options(scanOptions.scan(run).withRunner(runner), pruning, int8(n), seed(),
                    perplexityText(), perplexityWindows(), recovery);
            PlanStudy.Result result;
            try (Calibration calibration = scanOptions.needsCalibration() ? CandidateSelection.calibrate(base,
                    promptOptions, sessionSelection.options(), scanOptions.calibrationCount) : null) {
                result = PlanStudy.run(base, reference, calibration, options);
            }
            bars.close();
            List<String> extras = writeExtras(base, result);
            Map<String, String> metadata = new LinkedHashMap<>();
            metadata.put("command", commandLine(spec));
            metadata.put("reference file", ref.file() + (ref.generated()
                    ? String.format(Locale.ROOT, " (generated in %.1f s)", ref.seconds()) : " (cached)"));
            metadata.put("engine", Engine.version() + ", kernel path " + (sessionSelection.isa.name()
                    .equals("AUTO") ? Engine.bestIsa() : sessionSelection.isa) + ", threads "
                    + (sessionSelection.threads == 0 ? "all (" + Runtime.getRuntime().availableProcessors() + ")"
                    : sessionSelection.threads));
            metadata.put("cells run", sparkOptions.enabled() ? "on Apache Spark, " + runner : "in this process");
            metadata.put("layer inputs", scanOptions.noLayerCache ? "recomputed for every cell (--no-layer-cache)"
                    : "cached per layer (DESIGN.md §3)");
            if (options.pruning() != null || options.int8() != null) {
                metadata.put("plan searches", String.format(Locale.ROOT, "%.1f s, %d candidates evaluated",
                        result.seconds(), result.evaluations()));
            }
            addMetadata(metadata);
            metadata.put("run at", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
            String title = "dtm " + spec.name() + ": " + base.path().getFileName();
            ReportFiles files = ReportWriter.write(scanOptions.out,
                    new ReportInput(title, result.scan(), result.outcomes(), result.pruning(), result.int8(),
                            result.samples(), result.baseBytes(), metadata));
            printSummary(out, result, n);
            out.println();
            for (String e : extras) {
                out.println(e);
            }
            out.printf("report      %s%n", files.html());
            out.printf("data        %s, %s, %s%n", files.json(), files.cellsCsv(), files.plansCsv());
            out.printf(Locale.ROOT, "time        %.1f s in all%n", (System.nanoTime() - start) / 1e9);
        }
        return 0;
    }

    private static void printSummary(PrintStream out, PlanStudy.Result result, int n) {
        ScanResult scan = result.scan();
        out.printf(Locale.ROOT, "scan        %d cells (%d components x %d settings), N = %d: %.1f s this run, the "
                        + "cells' own times add up to %.1f s%n", scan.cells().size(),
                scan.cells().stream().map(ScanCell::component).distinct().count(), scan.settings().size(), n,
                scan.seconds(), scan.cellSeconds());
        out.println();
        out.printf("%-16s %12s %12s %10s  %s%n", "setting", "FDT_75 = N", "FDT_75>=0.9N", "median", "most harmed");
        for (String setting : scan.settings()) {
            List<ScanCell> cells = new ArrayList<>();
            for (ScanCell c : scan.cells()) {
                if (c.setting().equals(setting)) {
                    cells.add(c);
                }
            }
            if (cells.isEmpty()) {
                continue;
            }
            long full = cells.stream().filter(c -> c.fdt75() >= n).count();
            long near = cells.stream().filter(c -> c.fdt75() >= 0.9 * n).count();
            int[] sorted = cells.stream().mapToInt(ScanCell::fdt75).sorted().toArray();
            ScanCell worst = cells.stream().min((a, b) -> Integer.compare(a.fdt75(), b.fdt75())).orElseThrow();
            out.printf(Locale.ROOT, "%-16s %7d of %-2d %7d of %-2d %10d  %s (FDT_75 %d)%n", setting, full, cells.size(),
                    near, cells.size(), sorted[sorted.length / 2], worst.component(), worst.fdt75());
        }
        if (result.outcomes().isEmpty()) {
            return;
        }
        out.println();
        out.printf("%-28s %9s %7s %7s %9s %9s %9s %9s %8s %7s %7s %7s%n", "plan", "sparsity", "int8", "FDT_75",
                "mean FDT", "mean SDT", "PPL of y", "text PPL", "size", ">90%", "attn>90", "dec i8");
        for (PlanOutcome o : result.outcomes()) {
            out.printf(Locale.ROOT, "%-28s %8.1f%% %6.1f%% %7d %9s %9s %9s %9s %7.1f%% %6.1f%% %6.1f%% %6.1f%%%n",
                    o.name(), 100 * o.sparsity(), 100 * o.quantizedShare(), o.fdt75(),
                    MetricText.table("%.2f", o.fdtMean()), MetricText.table("%.2f", o.sdtMean()),
                    MetricText.table("%.4f", o.perplexity()),
                    Double.isNaN(o.textPerplexity()) ? "-" : MetricText.table("%.4f", o.textPerplexity()),
                    100.0 * o.bytes() / result.baseBytes(), 100 * o.headline().prunedBeyond90(),
                    100 * o.headline().attentionPrunedBeyond90(), 100 * o.headline().decoderInt8Share());
        }
        out.println("(size: the candidate's weight bytes against the fp32 base's; >90%, attn>90: the share of decoder "
                + "matrices, and of attention q/k/v/o alone, pruned beyond 90 %; dec i8: the share of decoder "
                + "parameters in naive int8, as the paper states its results)");
        if (result.int8() != null) {
            Int8Selection guided = result.int8().selection();
            Int8Search.PrefixCheck alone = guided.check(0);
            if (guided.selected() == 0 && alone != null && !alone.passed()) {
                out.printf("(int8: %s on every component already gives FDT_75 %d < %d, so no naive prefix passes; "
                        + "--int8-fallback none leaves the rest in floating point)%n", guided.options().fallback(),
                        alone.outcome().fdt75(), guided.options().threshold());
            }
        }
    }
}
