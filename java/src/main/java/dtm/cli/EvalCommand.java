package dtm.cli;

import dtm.data.AtomicFiles;
import dtm.metrics.Aggregates;
import dtm.metrics.EvaluationOptions;
import dtm.metrics.EvaluationResult;
import dtm.metrics.KlMode;
import dtm.metrics.MetricText;
import dtm.metrics.MetricsJson;
import dtm.metrics.ReferenceSettings;
import dtm.metrics.RunOptions;
import dtm.metrics.SampleMetrics;
import dtm.metrics.Summary;
import dtm.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code dtm eval}: a candidate against a base's reference: FDT, SDT and the usual statistics. */
@Command(name = "eval",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Measure how far a candidate drifts from its base: divergent token metrics and more.",
        description = {
                "Takes the base's reference (greedy continuations y of the prompts, cached; made first if "
                        + "missing, as 'dtm reference' makes it), runs the candidate teacher-forced over "
                        + "prompt + y once, and reports per sample and aggregated over the prompts:",
                "  FDT   first divergent token: tokens the candidate reproduces before it first writes "
                        + "something else (N if never)",
                "  SDT   divergent tokens: positions where its greedy choice differs from y (share = SDT/N)",
                "  top-1 agreement (1 - SDT share), NLL and perplexity of y, mean delta p = p_cand(y_i) - "
                        + "p_base(y_i), mean KL(base || candidate): exact with --exact-kl, else approximate "
                        + "from the cached top-K (a lower bound; labelled as such)",
                "  FDT_q for each --q: the largest v such that at least q%% of samples have FDT >= v.",
                "",
                "With no options it evaluates the default model against itself on the default prompts: a "
                        + "self-check that must show FDT = N and SDT = 0 on every sample.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  dtm eval                                        # self-check of the default model",
                "  dtm eval --candidate pruned.bin --q 50,75,90",
                "  dtm eval --compress 'model.layers.*=int8'                 # all decoder matrices naive int8",
                "  dtm eval --compress '*=magnitude:0.5' --compress 'lm_head=magnitude:0'  # 50 %%, not the head",
                "  dtm eval --plan plan.json --exact-kl",
                "  dtm eval --base base.bin --candidate q8.bin --exact-kl --json > result.json",
                "  dtm eval --candidate q8.bin --reference base.dtmref --csv samples.csv",
                "",
                "The JSON schema (\"schema\": \"" + MetricsJson.EVAL_SCHEMA + "\") is described in docs/json-schema.md."})
final class EvalCommand implements Callable<Integer> {

    @Option(names = "--base", paramLabel = "PATH",
            description = "The base model (llama2.c .bin). Default: the embedded default model, stories15M.")
    Path base;

    @Option(names = "--base-tokenizer", paramLabel = "PATH",
            description = "The base's tokenizer (default: tokenizer.bin beside it).")
    Path baseTokenizer;

    @Option(names = "--reference", paramLabel = "FILE",
            description = {"The reference file. An existing one is used as it is when no prompt or reference "
                    + "option is given (its base must be --base); with such options it must match them. A "
                    + "missing one is generated there.",
                    "Default: the cache file of these settings under $DTM_CACHE_DIR/references/."})
    Path reference;

    @Option(names = "--refresh", description = "Regenerate the reference even if its file exists (overwrites it).")
    boolean refresh;

    @Option(names = "--exact-kl",
            description = "Run the base in the same pass for exact KL (about twice the work); "
                    + "default: approximate KL from the reference's top-K.")
    boolean exactKl;

    @Option(names = "--q", paramLabel = "Q", split = ",", defaultValue = "50,75,90",
            description = "Percentages q for FDT_q, comma-separated, each in [0, 100] (default: ${DEFAULT-VALUE}).")
    List<Double> qs;

    @Option(names = "--json", description = "Print the whole result as JSON on stdout instead of the table.")
    boolean json;

    @Option(names = "--positions",
            description = "With --json: include per-position arrays (candidate argmax, divergence mask, "
                    + "log-probabilities, KL).")
    boolean positions;

    @Option(names = "--csv", paramLabel = "FILE", description = "Also write one CSV row per sample to FILE.")
    Path csv;

    @Mixin
    ProgressOption progress;

    @Mixin
    CandidateSelection candidateSelection;

    @Mixin
    PromptOptions promptOptions;

    @Mixin
    SessionSelection sessionSelection;

    @Mixin
    FiniteCheckOption finiteCheck;

    @Mixin
    CommonOptions common;

    @Mixin
    ForceOption force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        for (double q : qs) {
            if (!(q >= 0 && q <= 100)) {
                throw new ParameterException(spec.commandLine(), "--q must be in [0, 100], got " + q);
            }
        }
        boolean optionsGiven = PromptOptions.NAMES.stream()
                .anyMatch(name -> spec.commandLine().getParseResult().hasMatchedOption(name));
        OutputGuard guard = OutputGuard.of(spec, force, List.of("--csv"), ModelSelection.defaultInputs(base));
        Path csvTarget = csv != null ? guard.check(csv, OutputKind.SAMPLE_CSV) : null;
        PrintStream out = System.out;
        try (Model baseModel = ModelSelection.load(base, baseTokenizer, finiteCheck);
             Model cand = candidateSelection.open(baseModel, promptOptions, sessionSelection.options(),
                     finiteCheck);
             ProgressDisplay bars = progress.open()) {
            RunOptions run = RunOptions.defaults().withSession(sessionSelection.options()).withProgress(bars);
            ReferenceResolver.Resolved ref = ReferenceResolver.resolve(baseModel, promptOptions, reference, refresh,
                    optionsGiven, run, System.err);
            candidateSelection.requireNotTrainedOn(ref.reference().prompts());
            EvaluationOptions options = new EvaluationOptions(exactKl ? baseModel : null, positions && json, run);
            EvaluationResult result = ref.reference().evaluate(cand, options);
            bars.close();
            if (csv != null) {
                guard.and(new OutputGuard.Input("the reference", ref.file())).check(csv, OutputKind.SAMPLE_CSV);
                writeCsv(result, csvTarget);
            }
            if (json) {
                com.fasterxml.jackson.databind.node.ObjectNode root =
                        MetricsJson.evaluation(result, ref.file().toString(), qs, positions);
                root.put("candidateDescription", candidateSelection.describe(baseModel));
                out.println(MetricsJson.mapper().writeValueAsString(root));
            } else {
                printTable(out, result, ref, baseModel, candidateSelection.describe(baseModel));
            }
        }
        return 0;
    }

    private void printTable(PrintStream out, EvaluationResult r, ReferenceResolver.Resolved ref, Model base,
                            String cand) {
        ReferenceSettings st = r.reference();
        Aggregates a = r.aggregates();
        out.printf("candidate   %s%n", cand);
        out.printf("base        %s%n", base.path());
        out.printf("reference   %s (%s)%n", ref.file(),
                ref.generated() ? String.format(Locale.ROOT, "generated in %.1f s", ref.seconds()) : "cached");
        out.printf("prompts     %s%n", st.prompts().describe());
        out.printf("N           %d tokens per sample%s%n", st.options().n(),
                st.options().stopAtEos() ? " at most (stops at EOS)" : "");
        out.printf("KL          %s%n", r.klMode() == dtm.metrics.KlMode.APPROXIMATE
                ? "approximate (base top-" + st.options().topK() + ", tail lumped; a lower bound)" : r.klMode().label());
        out.println();
        out.printf("%-16s %10s %10s %10s %10s %10s %10s %10s %10s%n", "metric", "mean", "median", "min", "p10", "p25",
                "p75", "p90", "max");
        row(out, "FDT", a.fdt(), "%.1f");
        row(out, "SDT", a.sdt(), "%.1f");
        row(out, "SDT share", a.sdtShare(), "%.4f");
        row(out, "top-1 agreement", a.top1Agreement(), "%.4f");
        row(out, "NLL of y", a.nll(), "%.4g");
        row(out, "perplexity of y", a.perplexity(), "%.4g");
        row(out, "delta p", a.deltaP(), "%.4g");
        row(out, "KL (" + r.klMode().id() + ")", a.kl(), "%.4g");
        out.println();
        StringBuilder fdtQ = new StringBuilder();
        for (double q : qs) {
            fdtQ.append(String.format(Locale.ROOT, "FDT_%s = %d   ", formatQ(q), r.fdtQ(q)));
        }
        out.printf("%s%n", fdtQ.toString().strip());
        out.printf(Locale.ROOT, "identical   %d of %d samples (FDT = N, SDT = 0)%n", a.identical(), r.sampleCount());
        out.printf(Locale.ROOT, "perplexity  %s of y over all %d continuation tokens%n",
                MetricText.table("%.4f", a.tokenPerplexity()), a.tokens());
        out.printf(Locale.ROOT, "time        %.1f s (%.0f scored tokens/s)%n", r.seconds(), r.tokensPerSecond());
    }

    /** One metric's figures: "-" when it was not measured, "nan" / "inf" where it is not finite. */
    private static void row(PrintStream out, String name, Summary s, String format) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-16s", name));
        for (double v : new double[] {s.mean(), s.median(), s.min(), s.p10(), s.p25(), s.p75(), s.p90(), s.max()}) {
            b.append(' ').append(String.format(Locale.ROOT, "%10s", s.measured() ? MetricText.table(format, v) : "-"));
        }
        out.println(b);
    }

    private static String formatQ(double q) {
        return q == Math.rint(q) ? Long.toString((long) q) : Double.toString(q);
    }

    /** The header line of the per-sample CSV (by which an earlier one is recognized). */
    static final String SAMPLE_CSV_HEADER =
            "index,prompt_tokens,n,fdt,sdt,sdt_share,top1_agreement,nll,perplexity,delta_p,kl";

    /** One row per sample; a non-finite value is NaN / Inf / -Inf, the KL of KL mode none an empty field. */
    static void writeCsv(EvaluationResult r, Path file) throws IOException {
        boolean kl = r.klMode() != KlMode.NONE;
        StringBuilder w = new StringBuilder(SAMPLE_CSV_HEADER).append('\n');
        for (SampleMetrics s : r.samples()) {
            w.append(s.index() + "," + s.promptTokens() + "," + s.n() + "," + s.fdt() + "," + s.sdt() + ","
                    + MetricText.csv(s.sdtShare()) + "," + MetricText.csv(s.top1Agreement()) + ","
                    + MetricText.csv(s.nll()) + "," + MetricText.csv(s.perplexity()) + ","
                    + MetricText.csv(s.deltaP()) + "," + (kl ? MetricText.csv(s.kl()) : "") + "\n");
        }
        AtomicFiles.writeString(file, w.toString());
    }
}
