package dtm.metrics;

import java.io.IOException;
import java.nio.file.Path;

/** {@link PerturbedModels} for tests of other packages. */
public final class PerturbedModelsAccess {
    private PerturbedModelsAccess() {
    }

    /** A copy of {@code model} in {@code dir} with noise on layer 2's down projection. */
    public static Path noisedCopy(Path model, Path dir) throws IOException {
        return PerturbedModels.noised(model, dir, "noised.bin", PerturbedModels.Matrix.W2, 2, 0.01f, 7);
    }

    /** A copy of {@code model} in {@code dir} whose layer 2's down projection holds a NaN. */
    public static Path nanCopy(Path model, Path dir) throws IOException {
        return PerturbedModels.withValue(model, dir, "nan.bin", PerturbedModels.Matrix.W2, 2, Float.NaN);
    }
}
