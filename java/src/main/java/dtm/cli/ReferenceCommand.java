package dtm.cli;

import dtm.metrics.Reference;
import dtm.metrics.ReferenceSettings;
import dtm.metrics.RunOptions;
import dtm.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code dtm reference}: builds (or checks, or refreshes) the cached reference of a base model. */
@Command(name = "reference",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Build the reference a base model is measured by: greedy continuations and statistics, cached.",
        description = {
                "Continues every prompt greedily with the base model (N tokens; ties to the lowest id), "
                        + "then keeps log p(y_i) and the base's top-K of every continuation token, and "
                        + "saves it all to a versioned, checksummed file (written to a temporary file and "
                        + "renamed). 'dtm eval' reads it.",
                "",
                "An existing file with the same settings is reused; one with other settings, or a damaged "
                        + "one, is refused and left as it is unless --refresh is given.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  dtm reference                                  # default model and prompts, into the cache",
                "  dtm reference --text book.txt --count 100 --out book.dtmref",
                "  dtm reference --model base.bin --prompts prompts.jsonl -n 50 --refresh --out base.dtmref"})
final class ReferenceCommand implements Callable<Integer> {

    @Option(names = "--out", paramLabel = "FILE",
            description = {"Where to save the reference.",
                    "Default: $DTM_CACHE_DIR/references/<base hash>-<settings hash>.dtmref "
                            + "(another file for other settings)."})
    Path out;

    @Option(names = "--refresh", description = "Regenerate and overwrite the file even if it exists.")
    boolean refresh;

    @Mixin
    ProgressOption progress;

    @Mixin
    ModelSelection modelSelection;

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

    @Override
    public Integer call() throws IOException {
        Path target = out == null ? null : OutputGuard.of(spec, force, List.of("--out"),
                modelSelection.defaultInputs()).check(out, OutputKind.REFERENCE);
        PrintStream stdout = System.out;
        try (Model base = modelSelection.load();
             ProgressDisplay bars = progress.open()) {
            RunOptions run = RunOptions.defaults().withSession(sessionSelection.options()).withProgress(bars);
            ReferenceResolver.Resolved r = ReferenceResolver.resolve(base, promptOptions, target, refresh, true,
                    run, System.err);
            Reference ref = r.reference();
            ReferenceSettings st = ref.settings();
            stdout.printf("reference   %s (%s)%n", r.file(),
                    r.generated() ? String.format("generated in %.1f s", r.seconds()) : "up to date, reused");
            stdout.printf("base        %s (SHA-256 %s...)%n", base.path(), st.base().modelSha256().substring(0, 12));
            stdout.printf("prompts     %s%n", st.prompts().describe());
            stdout.printf("N           %d tokens%s, %d continuation tokens in all%n", st.options().n(),
                    st.options().stopAtEos() ? " at most (stops at EOS)" : "", ref.continuationTokens());
            stdout.printf("top-k       %s%n", st.options().topK() == 0 ? "none (no approximate KL)"
                    : "top-" + st.options().topK() + " of the base kept per token");
        }
        return 0;
    }
}
