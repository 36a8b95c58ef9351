package dtm.cli;

import dtm.model.Component;
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

/** {@code dtm compress}: applies a plan to a base and writes the candidate file. */
@Command(name = "compress",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Compress a model by a plan and write the candidate file.",
        description = {"Applies --plan and/or --compress rules to the base (--model) and writes the "
                + "components that changed, each in its storage format (sparse, int8, q8_0, ...), to a "
                + "candidate file: safetensors holding only those components, with the base's fingerprint. "
                + "'dtm eval --candidate FILE' and Model.loadCandidate read it back, bitwise equal.", ""},
        footerHeading = "%nExamples:%n",
        footer = {"  dtm compress --compress 'model.layers.*=int8' --out int8.safetensors",
                "  dtm compress --plan plan.json --out candidate.safetensors",
                "  dtm eval --candidate candidate.safetensors"})
final class CompressCommand implements Callable<Integer> {

    @Option(names = {"-o", "--out"}, paramLabel = "FILE.safetensors", required = true,
            description = "Where to write the candidate file.")
    Path out;

    @Mixin
    ModelSelection modelSelection;

    @Mixin
    CandidateSelection candidateSelection;

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
        if (!candidateSelection.compresses()) {
            throw new IllegalArgumentException("nothing to compress: give --plan FILE or --compress PATTERN=SPEC");
        }
        Path target = OutputGuard.of(spec, force, List.of("--out"), modelSelection.defaultInputs())
                .check(out, OutputKind.CANDIDATE);
        PrintStream err = System.err;
        try (Model base = modelSelection.load();
             Model candidate = candidateSelection.open(base, promptOptions, sessionSelection.options(),
                     modelSelection.finiteCheck)) {
            candidate.exportCandidate(target, base);
            int changed = 0;
            for (int i = 0; i < candidate.components().size(); i++) {
                Component b = base.components().get(i);
                Component c = candidate.components().get(i);
                if (b.format() != c.format() || b.sparsity() != c.sparsity() || b.storageBytes() != c.storageBytes()) {
                    changed++;
                }
            }
            err.printf("wrote %s: %d component(s) compressed; weights %,d -> %,d bytes%n", out, changed,
                    base.storageBytes(), candidate.storageBytes());
        }
        return 0;
    }
}
