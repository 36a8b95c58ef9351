package dtm.cli;

import dtm.model.ModelOptions;
import picocli.CommandLine.Option;

/** --skip-finite-check: load model files without scanning their weights for NaN and infinity. */
final class FiniteCheckOption {
    @Option(names = "--skip-finite-check",
            description = "Load model files without checking every weight for NaN and infinity. The check costs "
                    + "one pass over the weights; without it a model with non-finite weights loads and its "
                    + "metrics come out as nan.")
    boolean skip;

    /** {@code options} with the finite check on, or off with --skip-finite-check. */
    ModelOptions apply(ModelOptions options) {
        return options.withCheckFinite(!skip);
    }
}
