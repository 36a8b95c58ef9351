package dtm.model;

import dtm.bindings.Dtm;
import dtm.errors.ContextOverflowException;
import dtm.engine.Errors;
import dtm.engine.Isa;
import dtm.engine.NativeHandle;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Scratch buffers, KV cache and worker threads for one thread at a time ({@code dtm_session}).
 *
 * <p>One KV cache serves three uses: the one-token {@link #decode decoding stream},
 * {@link #generate} and {@link #score}; the last two reset the stream. All the work over tokens
 * and logits happens natively over whole batches; Java only copies arrays in and out.
 *
 * <p>A session used by two threads at once throws {@link IllegalStateException} in the second.
 * Close it when done; it keeps its model's native memory alive until then.
 */
public final class Session extends NativeHandle<Dtm.dtm_session> {
    private final Model model;
    private final ModelConfig config;
    private final Isa isa;
    private final int threads;
    private final String device;
    private FloatPointer decodeLogits; // (vocab_size), reused by decode; guarded by the handle's lock

    Session(Model model, Dtm.dtm_session handle, int isa, int threads, String device) {
        super(handle, "session of " + model.description(), Sharing.ONE_THREAD);
        this.model = model;
        this.config = model.config();
        this.isa = Isa.ofCode(isa);
        this.threads = threads;
        this.device = device;
    }

    /** The model this session computes with. */
    public Model model() {
        return model;
    }

    /** The kernel path this session runs (never {@link Isa#AUTO}). */
    public Isa isa() {
        return isa;
    }

    /** The device this session runs on, e.g. "cpu" (an {@link dtm.engine.Engine#devices()} name). */
    public String device() {
        return device;
    }

    /** Threads this session computes with. */
    public int threads() {
        return threads;
    }

    /** Position of the next token of the decoding stream (tokens decoded so far). */
    public int position() {
        return call(Dtm::dtm_session_position);
    }

    /** Forgets the decoding stream. */
    public void reset() {
        run(handle -> Errors.check(Dtm.dtm_session_reset(handle), () -> "cannot reset " + description()));
    }

    /**
     * Appends {@code token} to the decoding stream and returns the logits (vocab_size of them)
     * predicting the token after it: bitwise the logits {@link #score} gives for that position.
     *
     * @throws dtm.errors.TokenOutOfRangeException token outside the vocabulary
     * @throws dtm.errors.ContextOverflowException the stream is at the context length (it is then unchanged)
     */
    public float[] decode(int token) {
        float[] logits = new float[config.vocabSize()];
        decode(token, logits);
        return logits;
    }

    /** {@link #decode(int)} into a caller's array of at least vocab_size entries. */
    public void decode(int token, float[] logits) {
        Objects.requireNonNull(logits, "logits");
        int vocab = config.vocabSize();
        if (logits.length < vocab) {
            throw new IllegalArgumentException("logits array has " + logits.length
                    + " entries, the vocabulary " + vocab);
        }
        run(handle -> {
            if (decodeLogits == null) {
                decodeLogits = new FloatPointer(vocab);
            }
            Errors.check(Dtm.dtm_session_decode(handle, token, decodeLogits),
                    () -> "cannot decode token " + token);
            decodeLogits.get(logits, 0, vocab);
        });
    }

    /** Greedy continuation of one prompt (BOS included by the caller) by {@code n} tokens. */
    public int[] generate(int[] prompt, int n) {
        Objects.requireNonNull(prompt, "prompt");
        return generate(new int[][] {prompt}, n, false)[0];
    }

    /**
     * Greedy continuations of a batch of prompts, decoded side by side: for each prompt (BOS
     * included by the caller) {@code n} tokens chosen by argmax, ties to the lowest id; fewer
     * when {@code stopAtEos} and EOS was chosen (EOS is then the last token).
     *
     * @throws dtm.errors.ContextOverflowException prompt length + n - 1 exceeds the context
     * @throws dtm.errors.TokenOutOfRangeException a prompt token outside the vocabulary
     */
    public int[][] generate(int[][] prompts, int n, boolean stopAtEos) {
        Objects.requireNonNull(prompts, "prompts");
        if (prompts.length == 0) {
            throw new IllegalArgumentException("no prompts given");
        }
        if (n < 0) {
            throw new IllegalArgumentException("token count must be >= 0, got " + n);
        }
        int[] lengths = new int[prompts.length];
        int[] flat = concatenate(Arrays.asList(prompts), lengths, "prompt");
        // Refused before the output array is made: n beyond the context would otherwise ask
        // the heap for n tokens per prompt only for the engine to refuse them.
        int context = model().config().maxSeqLen();
        for (int s = 0; s < prompts.length; s++) {
            if ((long) lengths[s] + n - 1 > context) {
                throw new ContextOverflowException("prompt " + s + " has " + lengths[s] + " tokens; with " + n
                        + " tokens to generate it needs " + ((long) lengths[s] + n - 1)
                        + " positions, more than the model's context of " + context);
            }
        }
        long outSize = (long) prompts.length * n;
        if (outSize > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(prompts.length + " prompts x " + n
                    + " tokens do not fit one array");
        }
        int[] out = new int[(int) outSize];
        int[] outLengths = new int[prompts.length];
        run(handle -> Errors.check(
                Dtm.dtm_generate_greedy(handle, flat, lengths, prompts.length, n, stopAtEos ? 1 : 0,
                        out, outLengths),
                () -> "cannot generate " + n + " tokens for " + prompts.length + " prompt(s)"));
        int[][] result = new int[prompts.length][];
        for (int s = 0; s < prompts.length; s++) {
            result[s] = Arrays.copyOfRange(out, s * n, s * n + outLengths[s]);
        }
        return result;
    }

    /** Teacher-forced scores of the sequences, without logits. */
    public ScoreResult score(List<int[]> sequences) {
        return score(sequences, false);
    }

    /**
     * Teacher-forced scores of the sequences (each 1 to max_seq_len tokens), computed natively
     * in batched prefill.
     *
     * @param withLogits also return all logits (tokens × vocab_size floats: for tests and tools)
     * @throws dtm.errors.ContextOverflowException a sequence longer than the context
     * @throws dtm.errors.TokenOutOfRangeException a token outside the vocabulary
     */
    public ScoreResult score(List<int[]> sequences, boolean withLogits) {
        Objects.requireNonNull(sequences, "sequences");
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("no sequences given");
        }
        int[] lengths = new int[sequences.size()];
        int[] flat = concatenate(sequences, lengths, "sequence");
        int total = flat.length;
        int vocab = config.vocabSize();
        if (withLogits && (long) total * vocab > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(total + " positions x " + vocab
                    + " logits do not fit one array; score fewer sequences at a time");
        }
        int[] offsets = new int[sequences.size() + 1];
        for (int s = 0; s < lengths.length; s++) {
            offsets[s + 1] = offsets[s] + lengths[s];
        }
        int[] argmax = new int[total];
        float[] logprobNext = new float[total];
        float[] logsumexp = new float[total];
        float[] logits = withLogits ? new float[total * vocab] : null;
        run(handle -> {
            try (IntPointer argmaxOut = new IntPointer(total);
                 FloatPointer logprobOut = new FloatPointer(total);
                 FloatPointer lseOut = new FloatPointer(total);
                 FloatPointer logitsOut = withLogits ? new FloatPointer((long) total * vocab) : null;
                 Dtm.dtm_score_outputs outputs = new Dtm.dtm_score_outputs()) {
                outputs.argmax(argmaxOut).logprob_next(logprobOut).logsumexp(lseOut).logits(logitsOut);
                Errors.check(Dtm.dtm_score(handle, flat, lengths, lengths.length, outputs),
                        () -> "cannot score " + lengths.length + " sequence(s) of " + total + " tokens");
                argmaxOut.get(argmax);
                logprobOut.get(logprobNext);
                lseOut.get(logsumexp);
                if (logitsOut != null) {
                    logitsOut.get(logits);
                }
            }
        });
        return new ScoreResult(vocab, offsets, argmax, logprobNext, logsumexp, logits);
    }

    /**
     * Teacher-forced evaluation of this session's model (the candidate F') against reference
     * samples, in one batched native pass ({@code dtm_evaluate}): per sample FDT, SDT, mean NLL,
     * mean Δp and mean KL(F || F'), and, when asked, per continuation token the candidate's
     * argmax, log p_F'(y_i), log p_F(y_i), the position's KL and the candidate's own top-k.
     *
     * @param input       the samples and any base statistics
     * @param base        a session of the base model F (another session than this one) to
     *                    compute exact KL and base log-probabilities in the same pass; or null
     * @param perPosition also return the per-position arrays
     * @param topK        also return the candidate's own top-k per position (0 = no)
     * @throws dtm.errors.ContextOverflowException prompt + continuation - 1 exceeds the context
     * @throws dtm.errors.TokenOutOfRangeException a token outside the vocabulary
     * @throws dtm.errors.InvalidArgumentException e.g. the base's vocabulary differs, top-k too large
     */
    public EvalOutput evaluate(EvalInput input, Session base, boolean perPosition, int topK) {
        return evaluate(input, base, perPosition, topK, null);
    }

    /**
     * {@link #evaluate(EvalInput, Session, boolean, int)} starting at the layer of {@code from}
     * (null: a full pass): the layers before it are not run. This session's model (and the
     * base's) must share every matrix before that layer with the model that captured the rows.
     *
     * @throws dtm.errors.InvalidArgumentException the rows are of other samples, or the model
     *                                             differs before their layer (named)
     */
    public EvalOutput evaluate(EvalInput input, Session base, boolean perPosition, int topK, LayerRows from) {
        Objects.requireNonNull(input, "input");
        if (base == this) {
            throw new IllegalArgumentException("the base session must be another session than the candidate's");
        }
        if (topK < 0 || topK > config.vocabSize()) {
            throw new IllegalArgumentException("top-k must be in [0, " + config.vocabSize() + "], got " + topK);
        }
        int samples = input.sampleCount();
        int cont = input.continuationTokens();
        if ((long) cont * Math.max(topK, 1) > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(cont + " positions x top-" + topK + " do not fit one array");
        }
        int[] fdt = new int[samples];
        int[] sdt = new int[samples];
        float[] nll = new float[samples];
        float[] deltaP = new float[samples];
        float[] kl = new float[samples];
        int[] argmax = perPosition ? new int[cont] : null;
        float[] logprob = perPosition ? new float[cont] : null;
        float[] baseLogprob = perPosition ? new float[cont] : null;
        float[] positionKl = perPosition ? new float[cont] : null;
        int[] topkIds = topK > 0 ? new int[cont * topK] : null;
        float[] topkLogprobs = topK > 0 ? new float[cont * topK] : null;
        run(handle -> {
            Function<Dtm.dtm_layer_inputs, Void> withRows = rows -> {
                if (base == null) {
                    evaluateNative(handle, null, rows, input, topK, fdt, sdt, nll, deltaP, kl,
                            argmax, logprob, baseLogprob, positionKl, topkIds, topkLogprobs);
                } else {
                    base.run(baseHandle -> evaluateNative(handle, baseHandle, rows, input, topK, fdt, sdt, nll,
                            deltaP, kl, argmax, logprob, baseLogprob, positionKl, topkIds, topkLogprobs));
                }
                return null;
            };
            if (from == null) {
                withRows.apply(null);
            } else {
                from.use(withRows);
            }
        });
        return new EvalOutput(fdt, sdt, nll, deltaP, kl, argmax, logprob, baseLogprob, positionKl,
                topK, topkIds, topkLogprobs);
    }

    private static void evaluateNative(Dtm.dtm_session handle, Dtm.dtm_session baseHandle,
                                       Dtm.dtm_layer_inputs rows, EvalInput in,
                                       int topK, int[] fdt, int[] sdt, float[] nll, float[] deltaP,
                                       float[] kl, int[] argmax, float[] logprob, float[] baseLogprob,
                                       float[] positionKl, int[] topkIds, float[] topkLogprobs) {
        int samples = in.sampleCount();
        try (IntPointer tokens = new IntPointer(in.tokens());
             IntPointer promptLens = new IntPointer(in.promptLens());
             IntPointer contLens = new IntPointer(in.contLens());
             FloatPointer baseLp = in.baseLogprobs() == null ? null : new FloatPointer(in.baseLogprobs());
             IntPointer baseIds = in.baseTopK() == 0 ? null : new IntPointer(in.baseTopkIds());
             FloatPointer baseTopLp = in.baseTopK() == 0 ? null : new FloatPointer(in.baseTopkLogprobs());
             IntPointer fdtOut = new IntPointer(samples);
             IntPointer sdtOut = new IntPointer(samples);
             FloatPointer nllOut = new FloatPointer(samples);
             FloatPointer deltaOut = new FloatPointer(samples);
             FloatPointer klOut = new FloatPointer(samples);
             IntPointer argmaxOut = argmax == null ? null : new IntPointer(argmax.length);
             FloatPointer lpOut = logprob == null ? null : new FloatPointer(logprob.length);
             FloatPointer baseLpOut = baseLogprob == null ? null : new FloatPointer(baseLogprob.length);
             FloatPointer posKlOut = positionKl == null ? null : new FloatPointer(positionKl.length);
             IntPointer topIdsOut = topkIds == null ? null : new IntPointer(topkIds.length);
             FloatPointer topLpOut = topkLogprobs == null ? null : new FloatPointer(topkLogprobs.length);
             Dtm.dtm_eval_inputs inputs = new Dtm.dtm_eval_inputs();
             Dtm.dtm_eval_outputs outputs = new Dtm.dtm_eval_outputs()) {
            inputs.tokens(tokens).prompt_lens(promptLens).cont_lens(contLens).n_samples(samples)
                    .base_logprobs(baseLp).base_top_k(in.baseTopK())
                    .base_topk_ids(baseIds).base_topk_logprobs(baseTopLp);
            outputs.fdt(fdtOut).sdt(sdtOut).nll(nllOut).delta_p(deltaOut).kl(klOut)
                    .argmax(argmaxOut).logprob(lpOut).base_logprob(baseLpOut).position_kl(posKlOut)
                    .top_k(topK).topk_ids(topIdsOut).topk_logprobs(topLpOut);
            Errors.check(rows == null ? Dtm.dtm_evaluate(handle, baseHandle, inputs, outputs)
                            : Dtm.dtm_evaluate_from(handle, baseHandle, inputs, rows, outputs),
                    () -> "cannot evaluate " + samples + " sample(s)");
            fdtOut.get(fdt);
            sdtOut.get(sdt);
            nllOut.get(nll);
            deltaOut.get(deltaP);
            klOut.get(kl);
            if (argmaxOut != null) {
                argmaxOut.get(argmax);
                lpOut.get(logprob);
                baseLpOut.get(baseLogprob);
                posKlOut.get(positionKl);
            }
            if (topIdsOut != null) {
                topIdsOut.get(topkIds);
                topLpOut.get(topkLogprobs);
            }
        }
    }

    @Override
    protected void free(Dtm.dtm_session handle) {
        Dtm.dtm_session_free(handle);
        if (decodeLogits != null) {
            decodeLogits.close();
            decodeLogits = null;
        }
        model.sessionClosed();
    }

    /**
     * The residual stream entering {@code layer} (0 .. layers; layers = the final norm) for every
     * fed token of the samples, computed by this session's model ({@code
     * dtm_capture_layer_inputs}); {@code from} (may be null): earlier rows of the same samples
     * and model to start from, so capturing layer after layer costs one pass in all. Close it.
     */
    public LayerRows captureLayerInputs(EvalInput input, int layer, LayerRows from) {
        Objects.requireNonNull(input, "input");
        return call(handle -> {
            Dtm.dtm_layer_inputs out = new Dtm.dtm_layer_inputs();
            try (IntPointer tokens = new IntPointer(input.tokens());
                 IntPointer promptLens = new IntPointer(input.promptLens());
                 IntPointer contLens = new IntPointer(input.contLens());
                 Dtm.dtm_eval_inputs inputs = new Dtm.dtm_eval_inputs()) {
                inputs.tokens(tokens).prompt_lens(promptLens).cont_lens(contLens).n_samples(input.sampleCount());
                Function<Dtm.dtm_layer_inputs, Integer> capture =
                        fromHandle -> Dtm.dtm_capture_layer_inputs(handle, inputs, layer, fromHandle, out);
                int status = from == null ? capture.apply(null) : from.use(capture);
                Errors.check(status, () -> "cannot capture the inputs of layer " + layer);
            }
            return new LayerRows(out, layer, "inputs of layer " + layer + " of " + model.description());
        });
    }

    /**
     * Runs the sequences through this session's model and records the input-feature norms of
     * every decoder matrix: the calibration that Wanda pruning needs ({@code dtm_calibrate}).
     */
    public Calibration calibrate(List<int[]> sequences) {
        Objects.requireNonNull(sequences, "sequences");
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("no calibration sequences");
        }
        int[] lengths = new int[sequences.size()];
        int[] flat = concatenate(sequences, lengths, "calibration sequence");
        return call(handle -> {
            Dtm.dtm_calibration calibration = new Dtm.dtm_calibration();
            Errors.check(Dtm.dtm_calibrate(handle, flat, lengths, lengths.length, calibration),
                    () -> "cannot calibrate on " + lengths.length + " sequence(s)");
            return new Calibration(calibration, flat.length,
                    "calibration of " + model.description() + " on " + flat.length + " tokens");
        });
    }

    /** The sequences one after another; their lengths into {@code lengths}. */
    private static int[] concatenate(List<int[]> sequences, int[] lengths, String what) {
        long total = 0;
        for (int s = 0; s < lengths.length; s++) {
            int[] seq = sequences.get(s);
            if (seq == null) {
                throw new NullPointerException(what + " " + s + " is null");
            }
            if (seq.length == 0) {
                throw new IllegalArgumentException(what + " " + s + " is empty (needs at least one token)");
            }
            lengths[s] = seq.length;
            total += seq.length;
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(total + " tokens do not fit one array");
        }
        int[] flat = new int[(int) total];
        int at = 0;
        for (int s = 0; s < lengths.length; s++) {
            System.arraycopy(sequences.get(s), 0, flat, at, lengths[s]);
            at += lengths[s];
        }
        return flat;
    }
}
