package dtm.cli;

import dtm.metrics.PromptSet;
import dtm.metrics.Reference;
import dtm.metrics.ReferenceSettings;
import dtm.metrics.RunOptions;
import dtm.model.Model;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Finds, checks or makes the reference that dtm reference and dtm eval work with. */
final class ReferenceResolver {
    /**
     * @param reference the reference
     * @param file      its file
     * @param generated whether it was generated now (else loaded)
     * @param seconds   time to generate it (0 when loaded)
     */
    record Resolved(Reference reference, Path file, boolean generated, double seconds) {
    }

    private ReferenceResolver() {
    }

    /**
     * The reference for {@code base} and the options.
     *
     * @param file         the file named on the command line, or null for the default cache path
     * @param refresh      regenerate even when a file exists (overwriting it)
     * @param optionsGiven whether any prompt or reference option was given: without any, an
     *                     existing {@code file} is used as it is (only its base is checked)
     */
    static Resolved resolve(Model base, PromptOptions options, Path file, boolean refresh, boolean optionsGiven,
                            RunOptions run, PrintStream err) throws IOException {
        if (file != null && Files.exists(file) && !refresh && !optionsGiven) {
            Reference loaded = Reference.load(file);
            loaded.requireBase(base);
            return new Resolved(loaded, file, false, 0);
        }
        PromptSet prompts = options.build(base);
        ReferenceSettings expected = Reference.expectedSettings(base, prompts, options.referenceOptions());
        Path target = file != null ? file : Reference.defaultPath(expected);
        if (Files.exists(target) && !refresh) {
            Reference loaded = Reference.load(target);
            loaded.requireSettings(expected, target);
            return new Resolved(loaded, target, false, 0);
        }
        prompts.requireFits(base.config().maxSeqLen(), options.referenceOptions().n());
        err.printf("dtm: generating the reference (%d prompts x %d tokens) into %s%n", prompts.size(),
                options.referenceOptions().n(), target);
        long start = System.nanoTime();
        Reference fresh = Reference.generate(base, prompts, options.referenceOptions(), run);
        fresh.save(target);
        return new Resolved(fresh, target, true, (System.nanoTime() - start) / 1e9);
    }
}
