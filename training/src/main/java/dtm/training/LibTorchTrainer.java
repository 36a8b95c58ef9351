package dtm.training;

import dtm.metrics.Progress;
import dtm.model.Model;
import dtm.recovery.RecoveryOptions;
import dtm.recovery.RecoveryTrainer;
import dtm.recovery.TrainingRun;
import dtm.recovery.TrainingSet;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;

/**
 * Recovery training with LibTorch (DESIGN.md §3, docs/recovery.md): the candidate's trainable
 * matrices learn the base's next-token distributions on the training set, masked so that every
 * weight that is zero at the start (pruned) is zero after every optimizer step.
 *
 * <p>One optimizer step: {@link RecoveryOptions#batchSequences} sequences in the order of a
 * {@code java.util.Random(seed)} shuffle (reshuffled after each pass over the set); the base's
 * log-probabilities (no gradient) and the candidate's; loss = KL(base ‖ candidate) summed over
 * the vocabulary, averaged over the batch's token positions; backward; AdamW at the step's
 * learning rate (linear warm-up, cosine decay); the masks multiplied in. Nothing else is random,
 * and LibTorch's CPU kernels are deterministic at a fixed thread count, so the same call gives
 * bitwise the same weights on the same machine.
 */
public final class LibTorchTrainer implements RecoveryTrainer {
    /** Loss reports to the progress display at most this often (every step is cheap to report, the text is not). */
    private static final long MESSAGE_NANOS = 500_000_000L;

    @Override
    public Trained train(Model base, Model candidate, List<Integer> trainable, TrainingSet data,
                         RecoveryOptions options, Progress progress, String task) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(candidate, "candidate");
        Objects.requireNonNull(trainable, "trainable");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(progress, "progress");
        if (trainable.isEmpty()) {
            throw new IllegalArgumentException("recovery training needs at least one component to train");
        }
        if (!options.enabled()) {
            throw new IllegalArgumentException("recovery training needs a token budget above 0");
        }
        int threads = options.threads() > 0 ? options.threads() : Runtime.getRuntime().availableProcessors();
        torch.set_num_threads(threads);
        int length = data.sequenceLength();
        int batch = Math.min(options.batchSequences(), data.sequences().size());
        RecoveryOptions effective = batch == options.batchSequences() ? options
                : new RecoveryOptions(options.tokensPerStep(), batch, options.learningRate(), options.warmupShare(),
                        options.weightDecay(), options.seed(), options.threads());
        int steps = effective.optimizerSteps(length);
        long tokensPerBatch = (long) batch * length;
        long total = steps * tokensPerBatch;
        Map<Integer, float[]> trained = new LinkedHashMap<>();
        double firstLoss = Double.NaN;
        double lastLoss = Double.NaN;
        double seconds;
        try (PointerScope outer = new PointerScope();
             TrainableLlama teacher = new TrainableLlama(base, Set.of(), length);
             TrainableLlama student = new TrainableLlama(candidate, new HashSet<>(trainable), length)) {
            List<Tensor> weights = new ArrayList<>(student.trainable().values());
            List<Tensor> pruned = new ArrayList<>();  // true where a weight is exactly zero at the start
            try (NoGradGuard g = new NoGradGuard()) {
                for (Tensor w : weights) {
                    pruned.add(w.eq(new Scalar(0.0)));
                }
            }
            AdamWOptions adamOptions = new AdamWOptions(effective.learningRate());
            adamOptions.weight_decay().put(effective.weightDecay());
            AdamW optimizer = new AdamW(new TensorVector(weights.toArray(new Tensor[0])), adamOptions);
            Order order = new Order(data.sequences().size(), effective.seed());
            progress.update(task, 0, total);
            long start = System.nanoTime();
            long lastMessage = start;
            for (int step = 0; step < steps; step++) {
                try (PointerScope scope = new PointerScope()) {
                    long[] tokens = new long[batch * length];
                    for (int b = 0; b < batch; b++) {
                        int[] seq = data.sequences().get(order.next());
                        for (int t = 0; t < length; t++) {
                            tokens[b * length + t] = seq[t];
                        }
                    }
                    Tensor input = torch.tensor(tokens).view(batch, length);
                    optimizer.param_groups().get(0).options().set_lr(effective.learningRateAt(step, steps));
                    optimizer.zero_grad();
                    double value = distil(teacher, student, input, tokensPerBatch);
                    optimizer.step();
                    try (NoGradGuard g = new NoGradGuard()) {
                        for (int i = 0; i < weights.size(); i++) {
                            // masked_fill writes +0.0 (a product with a 0/1 mask would leave -0.0).
                            weights.get(i).masked_fill_(pruned.get(i), new Scalar(0.0));
                        }
                    }
                    if (step == 0) {
                        firstLoss = value;
                    }
                    lastLoss = value;
                    if (!Double.isFinite(value)) {
                        throw new IllegalStateException("recovery training diverged: the loss of optimizer step "
                                + (step + 1) + " is " + value + "; try a lower learning rate");
                    }
                }
                long now = System.nanoTime();
                long done = (step + 1) * tokensPerBatch;
                if (now - lastMessage >= MESSAGE_NANOS || step == steps - 1) {
                    lastMessage = now;
                    progress.message(task, String.format(Locale.ROOT, "KL %.4f, %.0f tokens/s", lastLoss,
                            done / ((now - start) / 1e9)));
                }
                progress.update(task, done, total);
            }
            seconds = (System.nanoTime() - start) / 1e9;
            for (Map.Entry<Integer, Tensor> e : student.trainable().entrySet()) {
                trained.put(e.getKey(), TrainableLlama.values(e.getValue()));
            }
        }
        Model model = candidate.withWeights(trained);
        return new Trained(model, new TrainingRun(total, steps, seconds, firstLoss, lastLoss));
    }

    /**
     * The batch's loss, KL(base ‖ candidate) = Σ p_base (log p_base − log p_candidate) per position
     * averaged over the positions, with its gradient accumulated into the student's weights. The
     * output head and the loss go in chunks of {@value #CHUNK_ROWS} positions, each backpropagated
     * into the head's input at once, then the decoder once: no (positions × vocab) tensor is ever
     * whole, so memory stays small and its blocks are reused from step to step.
     */
    private static double distil(TrainableLlama teacher, TrainableLlama student, Tensor input, long positions) {
        Tensor target;
        try (NoGradGuard g = new NoGradGuard()) {
            target = teacher.hidden(input);
        }
        Tensor hidden = student.hidden(input);
        Tensor leaf = hidden.detach().requires_grad_(true);
        Scalar scale = new Scalar((double) positions);
        double loss = 0;
        for (long at = 0; at < positions; at += CHUNK_ROWS) {
            long rows = Math.min(CHUNK_ROWS, positions - at);
            try (PointerScope chunk = new PointerScope()) {
                Tensor base;
                try (NoGradGuard g = new NoGradGuard()) {
                    base = torch.log_softmax(teacher.logitsOf(target.narrow(0, at, rows)), -1);
                }
                Tensor candidate = torch.log_softmax(student.logitsOf(leaf.narrow(0, at, rows)), -1);
                Tensor part = torch.kl_div(candidate, base, 2 /* sum */, true).div(scale);
                part.backward();
                loss += part.item_double();
            }
        }
        // d loss / d hidden is leaf's gradient: Σ hidden · g has exactly that gradient. (Without a
        // trainable decoder matrix, only the head learns and nothing before it needs a gradient.)
        if (hidden.requires_grad()) {
            hidden.mul(leaf.grad()).sum().backward();
        }
        return loss;
    }

    /** Positions per chunk of the head and the loss: 16 MB of logits at a vocabulary of 32000. */
    private static final long CHUNK_ROWS = 128;

    /** Sequence indices in shuffled passes: Fisher-Yates with one {@link Random} per call. */
    private static final class Order {
        private final int[] indices;
        private final Random random;
        private int at;

        Order(int size, long seed) {
            indices = new int[size];
            for (int i = 0; i < size; i++) {
                indices[i] = i;
            }
            random = new Random(seed);
            shuffle();
        }

        int next() {
            if (at == indices.length) {
                shuffle();
            }
            return indices[at++];
        }

        private void shuffle() {
            for (int i = indices.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = indices[i];
                indices[i] = indices[j];
                indices[j] = t;
            }
            at = 0;
        }
    }
}
