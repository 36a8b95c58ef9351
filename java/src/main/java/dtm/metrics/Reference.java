package dtm.metrics;

import dtm.data.CacheDirectory;
import dtm.errors.InternalEngineException;
import dtm.errors.ReferenceMismatchException;
import dtm.errors.Status;
import dtm.model.EvalInput;
import dtm.model.EvalOutput;
import dtm.model.LayerRows;
import dtm.model.Model;
import dtm.model.Session;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A reference: the base model's greedy continuations y_1..y_N of a prompt set, with the
 * base's statistics per continuation token (log p_F(y_i) and its top-k), the yardstick that
 * candidates are evaluated against (DESIGN §1).
 *
 * <pre>{@code
 * try (Model base = DefaultModel.load(); Model candidate = Model.load(Path.of("pruned.bin"))) {
 *     Reference ref = Reference.generate(base, PromptSet.defaults(base), 100);
 *     EvaluationResult r = ref.evaluate(candidate);
 *     System.out.println(r.fdtQ(75) + " " + r.aggregates().sdt().mean());
 * }
 * }</pre>
 *
 * <p>Immutable. Generation and evaluation run natively over whole chunks of samples; Java only
 * moves arrays. A reference is saved to and loaded from a versioned, checksummed file
 * ({@link #save}, {@link #load}, {@link #loadOrGenerate}; format in {@link ReferenceFile}).
 */
public final class Reference {
    /** File name extension of reference files. */
    public static final String EXTENSION = ".dtmref";

    private final ReferenceSettings settings;
    private final PromptSet prompts;
    private final int[] contOffsets;    // (samples + 1)
    private final int[] continuations;  // (continuation tokens) y, sample after sample
    private final float[] baseLogprobs; // (continuation tokens) log p_F(y_i)
    private final int[] topkIds;        // (continuation tokens, k) the base's top-k ids
    private final float[] topkLogprobs; // (continuation tokens, k) their log-probabilities

    Reference(ReferenceSettings settings, PromptSet prompts, int[] contLens, int[] continuations,
              float[] baseLogprobs, int[] topkIds, float[] topkLogprobs) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.prompts = Objects.requireNonNull(prompts, "prompts");
        int samples = prompts.size();
        if (contLens.length != samples) {
            throw new IllegalArgumentException(samples + " prompts but " + contLens.length + " continuations");
        }
        this.contOffsets = new int[samples + 1];
        for (int s = 0; s < samples; s++) {
            if (contLens[s] < 1 || contLens[s] > settings.options().n()) {
                throw new IllegalArgumentException("continuation " + s + " has " + contLens[s]
                        + " tokens, not in [1, N = " + settings.options().n() + "]");
            }
            if (!settings.options().stopAtEos() && contLens[s] != settings.options().n()) {
                throw new IllegalArgumentException("continuation " + s + " has " + contLens[s]
                        + " tokens; without stop-at-EOS every continuation has N = " + settings.options().n());
            }
            contOffsets[s + 1] = contOffsets[s] + contLens[s];
        }
        int cont = contOffsets[samples];
        int k = settings.options().topK();
        if (continuations.length != cont || baseLogprobs.length != cont
                || topkIds.length != (long) cont * k || topkLogprobs.length != (long) cont * k) {
            throw new IllegalArgumentException("reference arrays do not fit " + cont + " continuation tokens, top-" + k);
        }
        this.continuations = continuations;
        this.baseLogprobs = baseLogprobs;
        this.topkIds = topkIds;
        this.topkLogprobs = topkLogprobs;
    }

    // ------------------------------------------------------------------------------------
    // Generation
    // ------------------------------------------------------------------------------------

    /** Generates a reference of {@code n} tokens per prompt, default top-k, no stop at EOS. */
    public static Reference generate(Model base, PromptSet prompts, int n) {
        return generate(base, prompts, ReferenceOptions.defaults().withN(n), RunOptions.defaults());
    }

    /** Generates a reference with default run options. */
    public static Reference generate(Model base, PromptSet prompts, ReferenceOptions options) {
        return generate(base, prompts, options, RunOptions.defaults());
    }

    /**
     * Generates a reference: the base's greedy continuations of every prompt (batched, chunks
     * of {@code run.chunkSamples()} prompts decoded side by side), then one teacher-forced
     * pass of the base over them for log p_F(y_i) and the top-k. That pass must reproduce
     * the continuations exactly (FDT = N), which is checked.
     *
     * @throws dtm.errors.InvalidPromptSetException  the prompts were made for another tokenizer
     * @throws dtm.errors.ContextOverflowException   a prompt plus N does not fit the context
     * @throws InternalEngineException               teacher-forced argmax differs from greedy
     *                                               generation (an engine bug)
     */
    public static Reference generate(Model base, PromptSet prompts, ReferenceOptions options, RunOptions run) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(prompts, "prompts");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(run, "run");
        int vocab = base.config().vocabSize();
        if (options.topK() > vocab) {
            throw new IllegalArgumentException("top-k " + options.topK() + " is more than the vocabulary of "
                    + vocab + " tokens");
        }
        prompts.requireTokenizer(base);
        prompts.requireFits(base.config().maxSeqLen(), options.n());
        ReferenceSettings settings = new ReferenceSettings(ModelFingerprint.of(base), vocab, options,
                prompts.settings(), prompts.sha256());

        List<int[]> promptList = prompts.raw();
        int samples = promptList.size();
        int n = options.n();
        int k = options.topK();
        int[] contLens = new int[samples];
        int[][] conts = new int[samples][];
        float[][] logprobs = new float[samples][];
        int[][] ids = new int[samples][];
        float[][] topLogprobs = new float[samples][];
        Progress progress = run.progress();
        progress.update("reference", 0, samples);
        try (Session session = base.newSession(run.generationSession(base.config(), samples))) {
            for (int from = 0; from < samples; from += run.chunkSamples()) {
                int to = Math.min(samples, from + run.chunkSamples());
                int[][] chunkPrompts = promptList.subList(from, to).toArray(new int[0][]);
                int[][] generated = session.generate(chunkPrompts, n, options.stopAtEos());
                EvalInput input = samplesOf(chunkPrompts, generated, null, 0, null, null);
                EvalOutput out = session.evaluate(input, null, true, k);
                int at = 0;
                for (int s = 0; s < generated.length; s++) {
                    int len = generated[s].length;
                    if (out.fdt()[s] != len) {
                        throw new InternalEngineException(Status.INTERNAL.code(), "reference sample " + (from + s)
                                + ": the base's teacher-forced argmax differs from its greedy continuation at "
                                + "position " + (out.fdt()[s] + 1) + " of " + len
                                + " (batched prefill and decoding must agree bitwise); please report this", "");
                    }
                    contLens[from + s] = len;
                    conts[from + s] = generated[s];
                    logprobs[from + s] = Arrays.copyOfRange(out.logprob(), at, at + len);
                    ids[from + s] = k == 0 ? new int[0] : Arrays.copyOfRange(out.topkIds(), at * k, (at + len) * k);
                    topLogprobs[from + s] = k == 0 ? new float[0]
                            : Arrays.copyOfRange(out.topkLogprobs(), at * k, (at + len) * k);
                    at += len;
                }
                progress.update("reference", to, samples);
            }
        }
        return new Reference(settings, prompts, contLens, flatten(conts), flatten(logprobs), flatten(ids),
                flatten(topLogprobs));
    }

    // ------------------------------------------------------------------------------------
    // Files
    // ------------------------------------------------------------------------------------

    /**
     * Saves the reference: written to a temporary file in the same directory, flushed to disk,
     * then renamed over {@code file} in one step, so a crash never leaves a half file that
     * looks whole. Parent directories are created.
     */
    public void save(Path file) throws IOException {
        ReferenceFile.write(this, file);
    }

    /**
     * Whether {@code file} starts with a reference file's magic bytes (it may still be damaged:
     * {@link #load} checks the rest).
     */
    public static boolean isReferenceFile(Path file) throws IOException {
        return ReferenceFile.hasMagic(file);
    }

    /**
     * Loads a reference file, checking magic, version, lengths against the file size, the
     * checksum, and the consistency of its arrays.
     *
     * @throws dtm.errors.CorruptReferenceException the file is not an intact reference
     * @throws IOException                          the file cannot be read
     */
    public static Reference load(Path file) throws IOException {
        return ReferenceFile.read(file);
    }

    /** The bytes {@link #save} writes: the whole file, for shipping a reference elsewhere (a cluster job). */
    public byte[] toBytes() throws IOException {
        return ReferenceFile.encode(this);
    }

    /**
     * A reference from the bytes of its file ({@link #toBytes}), checked as {@link #load} checks a
     * file.
     *
     * @throws dtm.errors.CorruptReferenceException the bytes are not an intact reference
     */
    public static Reference fromBytes(byte[] bytes) {
        return ReferenceFile.decode(bytes, null);
    }

    /**
     * The reference for these settings: loaded from {@code file} when it exists and matches;
     * generated and saved there when it does not exist, or when {@code refresh}. A file that
     * exists but does not match or is corrupt is refused, never overwritten, unless
     * {@code refresh}.
     *
     * @throws ReferenceMismatchException           the file was made with other settings (all named)
     * @throws dtm.errors.CorruptReferenceException the file is not an intact reference
     */
    public static Reference loadOrGenerate(Path file, Model base, PromptSet prompts, ReferenceOptions options,
                                           RunOptions run, boolean refresh) throws IOException {
        Objects.requireNonNull(file, "file");
        if (!refresh && Files.exists(file)) {
            Reference cached = load(file);
            cached.requireSettings(expectedSettings(base, prompts, options), file);
            return cached;
        }
        Reference fresh = generate(base, prompts, options, run);
        fresh.save(file);
        return fresh;
    }

    /** The settings a reference of {@code base}, {@code prompts} and {@code options} has. */
    public static ReferenceSettings expectedSettings(Model base, PromptSet prompts, ReferenceOptions options) {
        prompts.requireTokenizer(base);
        return new ReferenceSettings(ModelFingerprint.of(base), base.config().vocabSize(), options,
                prompts.settings(), prompts.sha256());
    }

    /**
     * Where the reference of these settings lives by default:
     * {@code CACHE/references/<base model hash, 12 digits>-<settings hash, 16 digits>.dtmref} in the
     * {@link CacheDirectory cache directory}. Other settings give another file.
     */
    public static Path defaultPath(ReferenceSettings settings) {
        return defaultPath(CacheDirectory.get(), settings);
    }

    /** {@link #defaultPath(ReferenceSettings)} under a given cache directory. */
    public static Path defaultPath(Path cacheDir, ReferenceSettings settings) {
        String key = ReferenceFile.headerKey(settings);
        String hash = Hashing.text(key);
        return cacheDir.resolve("references")
                .resolve(settings.base().modelSha256().substring(0, 12) + "-" + hash.substring(0, 16) + EXTENSION);
    }

    /**
     * Checks that this reference has the wanted settings.
     *
     * @param file the file it came from, for the message (may be null)
     * @throws ReferenceMismatchException naming every difference
     */
    public void requireSettings(ReferenceSettings wanted, Path file) {
        List<String> diffs = settings.differences(wanted);
        if (!diffs.isEmpty()) {
            throw new ReferenceMismatchException((file == null ? "the reference" : "reference " + file)
                    + " was made with other settings: " + String.join("; ", diffs)
                    + (file == null ? "" : ". It was left as it is: refresh it (dtm reference --refresh, "
                    + "or eval --refresh) or choose another file"), diffs);
        }
    }

    /**
     * Checks that {@code model} is this reference's base (same model and tokenizer files by
     * content).
     *
     * @throws ReferenceMismatchException it is another model
     */
    public void requireBase(Model model) {
        ModelFingerprint theirs = ModelFingerprint.of(model);
        if (!settings.hasBase(theirs)) {
            List<String> diffs = new ArrayList<>();
            if (!settings.base().modelSha256().equals(theirs.modelSha256())) {
                diffs.add("base model (SHA-256): " + settings.base().modelSha256().substring(0, 12)
                        + "... in the reference, " + theirs.modelSha256().substring(0, 12) + "... for " + model.path());
            }
            if (!settings.base().tokenizerSha256().equals(theirs.tokenizerSha256())) {
                diffs.add("tokenizer (SHA-256): " + settings.base().tokenizerSha256().substring(0, 12)
                        + "... in the reference, " + theirs.tokenizerSha256().substring(0, 12) + "... for "
                        + model.tokenizerPath());
            }
            throw new ReferenceMismatchException("the reference was made from another base model: "
                    + String.join("; ", diffs), diffs);
        }
    }

    // ------------------------------------------------------------------------------------
    // Evaluation
    // ------------------------------------------------------------------------------------

    /** Evaluates a candidate: approximate KL from the cached top-k, default run options. */
    public EvaluationResult evaluate(Model candidate) {
        return evaluate(candidate, EvaluationOptions.defaults());
    }

    /** Evaluates a candidate with exact KL: {@code base} (this reference's base) runs in the same pass. */
    public EvaluationResult evaluate(Model candidate, Model base) {
        return evaluate(candidate, EvaluationOptions.defaults().withBase(Objects.requireNonNull(base, "base")));
    }

    /**
     * Evaluates a candidate (any model with the reference's tokenizer) in one teacher-forced
     * pass per chunk of {@code run.chunkSamples()} samples: the candidate reads prompt +
     * y_1..y_{N-1} and each position is compared with y_i (DESIGN §1).
     *
     * @throws ReferenceMismatchException the candidate's tokenizer (or the exact-KL base) is not the reference's
     * @throws dtm.errors.ContextOverflowException a sample does not fit the candidate's context
     */
    public EvaluationResult evaluate(Model candidate, EvaluationOptions options) {
        return evaluate(candidate, options, null);
    }

    /**
     * The residual stream entering {@code layer} for every sample of this reference, computed by
     * {@code model} (normally the base), chunk by chunk as {@code run.chunkSamples()} splits
     * them; {@code from} (may be null) earlier rows to start from. Candidates that share every
     * matrix before that layer with {@code model} can then be evaluated from there
     * ({@link #evaluate(Model, EvaluationOptions, LayerInputCache)}), bitwise as by a full pass.
     */
    public LayerInputCache captureLayerInputs(Model model, int layer, LayerInputCache from, RunOptions run) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(run, "run");
        if (from != null && from.chunkSamples() != run.chunkSamples()) {
            throw new IllegalArgumentException("the earlier layer inputs were cut into chunks of "
                    + from.chunkSamples() + " samples, the run asks for " + run.chunkSamples());
        }
        requireTokenizer(model);
        int samples = sampleCount();
        List<LayerRows> chunks = new ArrayList<>();
        try (Session session = model.newSession(run.session())) {
            int index = 0;
            for (int start = 0; start < samples; start += run.chunkSamples(), index++) {
                int end = Math.min(samples, start + run.chunkSamples());
                chunks.add(session.captureLayerInputs(chunkInput(start, end, false, 0),
                        layer, from == null ? null : from.chunk(index)));
            }
        } catch (RuntimeException e) {
            chunks.forEach(LayerRows::close);
            throw e;
        }
        return new LayerInputCache(layer, run.chunkSamples(), chunks);
    }

    /**
     * {@link #evaluate(Model, EvaluationOptions)} starting at the layer of {@code from} (null: a
     * full pass); the run's chunk size must be the one the rows were captured with.
     *
     * @throws dtm.errors.InvalidArgumentException the candidate (or exact-KL base) differs from
     *                                             the capturing model before that layer
     */
    public EvaluationResult evaluate(Model candidate, EvaluationOptions options, LayerInputCache cache) {
        Objects.requireNonNull(candidate, "candidate");
        Objects.requireNonNull(options, "options");
        requireTokenizer(candidate);
        Model base = options.base();
        if (base != null) {
            requireBase(base);
        }
        prompts.requireFits(candidate.config().maxSeqLen(), settings.options().n());
        KlMode mode = base != null ? KlMode.EXACT : topK() > 0 ? KlMode.APPROXIMATE : KlMode.NONE;
        RunOptions run = options.run();
        if (cache != null && cache.chunkSamples() != run.chunkSamples()) {
            throw new IllegalArgumentException("the layer inputs were cut into chunks of " + cache.chunkSamples()
                    + " samples, the run asks for " + run.chunkSamples());
        }
        int samples = sampleCount();
        int cont = contOffsets[samples];
        int k = topK();
        boolean keep = options.keepPositions();
        int[] fdt = new int[samples];
        int[] sdt = new int[samples];
        float[] nll = new float[samples];
        float[] deltaP = new float[samples];
        float[] kl = new float[samples];
        int[] argmax = keep ? new int[cont] : null;
        float[] logprob = keep ? new float[cont] : null;
        float[] baseLogprob = keep ? new float[cont] : null;
        float[] positionKl = keep ? new float[cont] : null;

        long start = System.nanoTime();
        run.progress().update("evaluate", 0, samples);
        List<int[]> promptList = prompts.raw();
        try (Session candidateSession = candidate.newSession(run.session());
             Session baseSession = base == null ? null : base.newSession(run.session())) {
            for (int from = 0; from < samples; from += run.chunkSamples()) {
                int to = Math.min(samples, from + run.chunkSamples());
                int c0 = contOffsets[from];
                int c1 = contOffsets[to];
                EvalInput input = chunkInput(from, to, base == null, k);
                EvalOutput out = candidateSession.evaluate(input, baseSession, keep, 0,
                        cache == null ? null : cache.chunk(from / run.chunkSamples()));
                System.arraycopy(out.fdt(), 0, fdt, from, to - from);
                System.arraycopy(out.sdt(), 0, sdt, from, to - from);
                System.arraycopy(out.nll(), 0, nll, from, to - from);
                System.arraycopy(out.deltaP(), 0, deltaP, from, to - from);
                System.arraycopy(out.kl(), 0, kl, from, to - from);
                if (keep) {
                    System.arraycopy(out.argmax(), 0, argmax, c0, c1 - c0);
                    System.arraycopy(out.logprob(), 0, logprob, c0, c1 - c0);
                    System.arraycopy(out.baseLogprob(), 0, baseLogprob, c0, c1 - c0);
                    System.arraycopy(out.positionKl(), 0, positionKl, c0, c1 - c0);
                }
                run.progress().update("evaluate", to, samples);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;

        List<SampleMetrics> metrics = new ArrayList<>(samples);
        for (int s = 0; s < samples; s++) {
            metrics.add(new SampleMetrics(s, promptList.get(s).length, continuationLength(s), fdt[s], sdt[s],
                    nll[s], deltaP[s], mode == KlMode.NONE ? Double.NaN : kl[s]));
        }
        PositionMetrics positions = keep ? new PositionMetrics(contOffsets.clone(), continuations.clone(), argmax,
                logprob, baseLogprob, positionKl) : null;
        return new EvaluationResult(mode, settings, candidate.path().toString(), metrics,
                Aggregates.of(metrics, mode), positions, seconds);
    }

    /** The evaluation input of samples [from, to); base statistics only when {@code withTopK}. */
    private EvalInput chunkInput(int from, int to, boolean withTopK, int k) {
        int c0 = contOffsets[from];
        int c1 = contOffsets[to];
        int[][] chunkPrompts = prompts.raw().subList(from, to).toArray(new int[0][]);
        int[][] chunkConts = new int[to - from][];
        for (int s = from; s < to; s++) {
            chunkConts[s - from] = continuation(s);
        }
        return samplesOf(chunkPrompts, chunkConts, Arrays.copyOfRange(baseLogprobs, c0, c1), withTopK ? k : 0,
                withTopK && k > 0 ? Arrays.copyOfRange(topkIds, c0 * k, c1 * k) : null,
                withTopK && k > 0 ? Arrays.copyOfRange(topkLogprobs, c0 * k, c1 * k) : null);
    }

    private void requireTokenizer(Model candidate) {
        if (candidate.config().vocabSize() != settings.vocabSize()) {
            throw new ReferenceMismatchException("the candidate " + candidate.path() + " has a vocabulary of "
                    + candidate.config().vocabSize() + " tokens, the reference's base " + settings.vocabSize(),
                    List.of("vocabulary: " + settings.vocabSize() + " in the reference, "
                            + candidate.config().vocabSize() + " for the candidate"));
        }
        String theirs = ModelFingerprint.tokenizerOf(candidate);
        if (!theirs.equals(settings.base().tokenizerSha256())) {
            throw new ReferenceMismatchException("the candidate's tokenizer " + candidate.tokenizerPath()
                    + " (SHA-256 " + theirs.substring(0, 12) + "...) is not the reference's ("
                    + settings.base().tokenizerSha256().substring(0, 12) + "...)",
                    List.of("tokenizer (SHA-256): " + settings.base().tokenizerSha256().substring(0, 12)
                            + "... in the reference, " + theirs.substring(0, 12) + "... for the candidate"));
        }
    }

    // ------------------------------------------------------------------------------------
    // Accessors
    // ------------------------------------------------------------------------------------

    /** What identifies this reference. */
    public ReferenceSettings settings() {
        return settings;
    }

    /** The prompts. */
    public PromptSet prompts() {
        return prompts;
    }

    /** Samples (prompts). */
    public int sampleCount() {
        return prompts.size();
    }

    /** k of the base's top-k kept per continuation token (0 = none). */
    public int topK() {
        return settings.options().topK();
    }

    /** Continuation tokens, all samples together. */
    public int continuationTokens() {
        return contOffsets[contOffsets.length - 1];
    }

    /** N of sample s (the reference's N, or fewer when the base stopped at EOS). */
    public int continuationLength(int sample) {
        return contOffsets[sample + 1] - contOffsets[sample];
    }

    /** y_1..y_N of sample s (a copy). */
    public int[] continuation(int sample) {
        return Arrays.copyOfRange(continuations, contOffsets[sample], contOffsets[sample + 1]);
    }

    /** log p_F(y_i) of sample s (a copy). */
    public float[] baseLogprobs(int sample) {
        return Arrays.copyOfRange(baseLogprobs, contOffsets[sample], contOffsets[sample + 1]);
    }

    /** The base's top-k ids of sample s, (N, k) row-major (a copy). */
    public int[] topkIds(int sample) {
        int k = topK();
        return Arrays.copyOfRange(topkIds, contOffsets[sample] * k, contOffsets[sample + 1] * k);
    }

    /** The base's top-k log-probabilities of sample s, (N, k) row-major (a copy). */
    public float[] topkLogprobs(int sample) {
        int k = topK();
        return Arrays.copyOfRange(topkLogprobs, contOffsets[sample] * k, contOffsets[sample + 1] * k);
    }

    /** Whether {@code other} holds the same settings, prompts and arrays. */
    public boolean sameContent(Reference other) {
        return settings.equals(other.settings) && prompts.sha256().equals(other.prompts.sha256())
                && Arrays.equals(contOffsets, other.contOffsets) && Arrays.equals(continuations, other.continuations)
                && Arrays.equals(baseLogprobs, other.baseLogprobs) && Arrays.equals(topkIds, other.topkIds)
                && Arrays.equals(topkLogprobs, other.topkLogprobs);
    }

    int[] contOffsetsRaw() {
        return contOffsets;
    }

    int[] continuationsRaw() {
        return continuations;
    }

    float[] baseLogprobsRaw() {
        return baseLogprobs;
    }

    int[] topkIdsRaw() {
        return topkIds;
    }

    float[] topkLogprobsRaw() {
        return topkLogprobs;
    }

    // ------------------------------------------------------------------------------------

    /** Evaluation input: prompt and continuation of each sample, one after another. */
    private static EvalInput samplesOf(int[][] prompts, int[][] conts, float[] baseLogprobs, int k, int[] ids,
                                       float[] topLogprobs) {
        int samples = prompts.length;
        int[] promptLens = new int[samples];
        int[] contLens = new int[samples];
        int total = 0;
        for (int s = 0; s < samples; s++) {
            promptLens[s] = prompts[s].length;
            contLens[s] = conts[s].length;
            total += promptLens[s] + contLens[s];
        }
        int[] tokens = new int[total];
        int at = 0;
        for (int s = 0; s < samples; s++) {
            System.arraycopy(prompts[s], 0, tokens, at, promptLens[s]);
            at += promptLens[s];
            System.arraycopy(conts[s], 0, tokens, at, contLens[s]);
            at += contLens[s];
        }
        return new EvalInput(tokens, promptLens, contLens, baseLogprobs, k, ids, topLogprobs);
    }

    private static int[] flatten(int[][] parts) {
        int total = 0;
        for (int[] p : parts) {
            total += p.length;
        }
        int[] out = new int[total];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static float[] flatten(float[][] parts) {
        int total = 0;
        for (float[] p : parts) {
            total += p.length;
        }
        float[] out = new float[total];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
