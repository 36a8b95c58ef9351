package dtm.recovery;

import dtm.errors.Status;
import dtm.errors.UnsupportedFeatureException;
import dtm.metrics.Progress;
import dtm.model.Model;

import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;

/**
 * Recovery training of a pruned model (DESIGN.md §3, docs/recovery.md): masked fine-tuning of
 * some components by distillation from the base, so that the pruned weights stay exactly zero.
 * The training engine is LibTorch, in the dtm-training module, found on the classpath with
 * {@link ServiceLoader} (./dtm adds it when --recover-tokens is given), so the CLI jar does not
 * carry LibTorch.
 */
public interface RecoveryTrainer {
    /**
     * A trained model and what the training did.
     *
     * @param model the trained candidate (close it)
     * @param run   tokens, time and loss
     */
    record Trained(Model model, TrainingRun run) implements AutoCloseable {
        public Trained {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(run, "run");
        }

        @Override
        public void close() {
            model.close();
        }
    }

    /**
     * Trains {@code trainable} components of {@code candidate} to match {@code base}'s next-token
     * distributions on {@code data}; every other weight is frozen. A weight that is exactly zero
     * in {@code candidate} (pruned) is zero in the result.
     *
     * @param base      the teacher (the unpruned base model)
     * @param candidate the pruned model to train; it is not changed
     * @param trainable component indices (matrices) to train
     * @param task      the progress task name (units: tokens)
     * @throws UnsupportedFeatureException a model feature the trainer does not implement, named
     */
    Trained train(Model base, Model candidate, List<Integer> trainable, TrainingSet data, RecoveryOptions options,
                  Progress progress, String task);

    /** The trainer on the classpath (dtm-training's LibTorch trainer). */
    static RecoveryTrainer find() {
        for (RecoveryTrainer t : ServiceLoader.load(RecoveryTrainer.class)) {
            return t;
        }
        throw new UnsupportedFeatureException(Status.UNSUPPORTED.code(), "cannot run recovery training",
                "no training module on the classpath: run dtm from a checkout with ./dtm (it adds dtm-training "
                + "and LibTorch when --recover-tokens is given), or put dtm-training.jar and its libraries on "
                + "the classpath");
    }
}
