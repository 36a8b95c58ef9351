package dtm.model;

import dtm.bindings.Dtm;
import dtm.engine.Errors;
import dtm.engine.Isa;
import dtm.engine.NativeHandle;
import dtm.engine.NativeText;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * A loaded model with its tokenizer: immutable, shareable across threads. A llama2.c model file
 * or a Hugging Face checkpoint directory (see docs/huggingface.md).
 *
 * <p>Compute happens in {@link Session}s (scratch buffers, KV cache, worker threads), one per
 * thread; {@link #generate} and {@link #score} are conveniences that open a short-lived session
 * with default options.
 *
 * <p>{@link #close()} frees the weights. Sessions still open keep them alive: the model is
 * unusable from the moment it is closed, and its memory goes when its last session closes.
 *
 * <pre>{@code
 * try (Model model = Model.load(Path.of("stories15M.bin"))) {
 *     System.out.println(model.generate("Once upon a time", 64).text());
 * }
 * }</pre>
 */
public final class Model extends NativeHandle<Dtm.dtm_model> {
    private final Path path;
    private final Path tokenizerPath;
    private final ModelConfig config;
    private final List<Component> components;
    private Tokenizer tokenizer;  // made on first use for a Hugging Face checkpoint (guarded by this)

    private Model(Dtm.dtm_model handle, Path path, Path tokenizerPath) {
        super(handle, "model " + path, Sharing.SHARED);
        this.path = path;
        this.tokenizerPath = tokenizerPath;
        try {
            this.config = readConfig(handle);
            this.components = readComponents(handle);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        if (config.source() == ModelSource.LLAMA2C) {
            this.tokenizer = new NativeTokenizer(this, config);
        }
    }

    /**
     * Loads a llama2.c model file, with "tokenizer.bin" from the same directory, or a Hugging
     * Face checkpoint directory, with its tokenizer.json; the weights are checked for NaN and
     * infinity ({@link ModelOptions#defaults()}).
     */
    public static Model load(Path path) {
        return load(path, ModelOptions.defaults());
    }

    /**
     * Loads a llama2.c model file and its tokenizer, or a Hugging Face checkpoint directory
     * (config.json + model.safetensors or model.safetensors.index.json and its shards; the
     * tokenizer is its tokenizer.json, or {@code options.tokenizer()}).
     *
     * @throws dtm.errors.DtmIoException              the file cannot be opened or read
     * @throws dtm.errors.ModelFormatException        the model or tokenizer file is truncated or foreign
     * @throws dtm.errors.UnsupportedFeatureException an architecture or config option dtm does not run
     * @throws dtm.errors.NativeOutOfMemoryException  the model does not fit in the available memory
     * @throws dtm.errors.NonFiniteWeightsException   NaN/inf in the weights (checked unless
     *                                                options.checkFinite() is false)
     */
    public static Model load(Path path, ModelOptions options) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(options, "options");
        Path absolute = path.toAbsolutePath();
        boolean checkpoint = Files.isDirectory(absolute);
        Path tokenizerPath = options.tokenizer() != null ? options.tokenizer().toAbsolutePath()
                : checkpoint ? absolute.resolve("tokenizer.json") : absolute.resolveSibling("tokenizer.bin");
        try (BytePointer pathText = NativeText.of(absolute.toString());
             BytePointer tokenizerText = options.tokenizer() == null
                     ? null : NativeText.of(options.tokenizer().toAbsolutePath().toString());
             Dtm.dtm_model_params params = Dtm.dtm_model_default_params()) {
            if (tokenizerText != null) {
                params.tokenizer_path(tokenizerText);
            }
            params.check_finite(options.checkFinite() ? 1 : 0);
            Dtm.dtm_model handle = new Dtm.dtm_model();
            Errors.check(Dtm.dtm_model_load(pathText, params, handle),
                    () -> "cannot load model " + absolute);
            return new Model(handle, absolute, tokenizerPath);
        }
    }

    /** The model file this was loaded from (absolute). */
    public Path path() {
        return path;
    }

    /** The tokenizer file this was loaded with (absolute). */
    public Path tokenizerPath() {
        return tokenizerPath;
    }

    /** The model's shape. */
    public ModelConfig config() {
        return config;
    }

    /** The weight matrices: per layer q, k, v, o, gate, up, down; then the embedding and the head. */
    public List<Component> components() {
        return components;
    }

    /**
     * Bytes of all weight matrices in their storage formats ({@link Component#storageBytes()}),
     * an uncompressed head that is the token embedding counted once (a compressed one is a
     * matrix of its own). Norms and biases are not counted.
     */
    public long storageBytes() {
        long bytes = 0;
        for (Component c : components) {
            boolean tiedHead = c.kind() == ComponentKind.LM_HEAD && config.sharedClassifier()
                    && (c.format() == WeightFormat.FP32 || c.format() == WeightFormat.FP16
                        || c.format() == WeightFormat.BF16) && c.sparsity() == 0;
            if (!tiedHead) {
                bytes += c.storageBytes();
            }
        }
        return bytes;
    }

    /**
     * The model's tokenizer (valid while the model is open): {@link NativeTokenizer} for a
     * llama2.c model, {@link HfTokenizer} (loaded on first use) for a Hugging Face checkpoint.
     *
     * @throws dtm.errors.DtmIoException       a checkpoint without tokenizer.json
     * @throws dtm.errors.ModelFormatException a tokenizer.json the library refuses
     */
    public synchronized Tokenizer tokenizer() {
        if (tokenizer == null) {
            run(handle -> { });  // throws IllegalStateException once closed
            tokenizer = HfTokenizer.load(tokenizerPath, config);
        }
        return tokenizer;
    }

    /**
     * Writes this model as a Hugging Face checkpoint into {@code dir} (created if needed):
     * config.json and model.safetensors with fp32 weights ({@code dtm_model_save_hf}), and the
     * tokenizer: for a llama2.c model a tokenizer.json + tokenizer_config.json that encode
     * every text as tokenizer.bin does ({@link HfTokenizerWriter}); for a checkpoint, copies
     * of its tokenizer files. Loading {@code dir} gives bitwise the same logits.
     */
    public void saveHuggingFace(Path dir) {
        Objects.requireNonNull(dir, "dir");
        run(handle -> {
            try (BytePointer text = NativeText.of(dir.toAbsolutePath().toString())) {
                Errors.check(Dtm.dtm_model_save_hf(handle, text), () -> "cannot write " + description() + " to " + dir);
            }
        });
        writeTokenizerFiles(dir);
    }

    /**
     * The tokenizer files of a checkpoint directory: for a llama2.c model a tokenizer.json +
     * tokenizer_config.json that encode every text as tokenizer.bin does; for a checkpoint,
     * copies of its tokenizer files.
     */
    private void writeTokenizerFiles(Path dir) {
        if (config.source() == ModelSource.LLAMA2C) {
            HfTokenizerWriter.write((NativeTokenizer) tokenizer(), config.maxSeqLen(), dir);
            return;
        }
        try {
            for (String name : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                    "generation_config.json")) {
                Path from = (name.equals("tokenizer.json") ? tokenizerPath : path.resolve(name));
                if (Files.isRegularFile(from) && !from.equals(dir.resolve(name).toAbsolutePath())) {
                    Files.copy(from, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the tokenizer files to " + dir, e);
        }
    }

    /** A session with default options (all CPUs, best kernel path). Close it. */
    public Session newSession() {
        return newSession(SessionOptions.defaults());
    }

    /**
     * A session: scratch buffers, KV cache and worker threads, for one thread at a time. Close it.
     *
     * @throws dtm.errors.UnsupportedFeatureException the requested instruction set is not on this CPU
     */
    public Session newSession(SessionOptions options) {
        Objects.requireNonNull(options, "options");
        return call(handle -> {
            Dtm.dtm_session session = new Dtm.dtm_session();
            try (Dtm.dtm_session_params params = Dtm.dtm_session_default_params();
                 BytePointer device = NativeText.of(options.device())) {
                params.device(device);
                params.n_threads(options.threads());
                params.isa(options.isa().code());
                params.max_sequences(options.maxSequences());
                params.max_batch_tokens(options.maxBatchTokens());
                Errors.check(Dtm.dtm_session_create(handle, params, session),
                        () -> "cannot create a session on " + options.device()
                                + (options.isa() != Isa.AUTO ? ", kernel path " + options.isa().cliName() : "")
                                + (options.threads() != 0 ? ", " + options.threads() + " threads" : "")
                                + " for " + description());
            }
            int isa = Dtm.dtm_session_isa(session);
            int threads = Dtm.dtm_session_n_threads(session);
            String device = Dtm.dtm_session_device(session).getString(StandardCharsets.UTF_8);
            retain();
            return new Session(this, session, isa, threads, device);
        });
    }

    /**
     * Greedy continuation of {@code prompt} by {@code n} tokens (BOS and the prompt's tokens
     * first; no stop at EOS), in a short-lived session with default options.
     */
    public Generation generate(String prompt, int n) {
        return generate(prompt, n, SessionOptions.defaults());
    }

    /** {@link #generate(String, int)} in a session with the given options. */
    public Generation generate(String prompt, int n, SessionOptions options) {
        Objects.requireNonNull(prompt, "prompt");
        if (prompt.isEmpty()) {
            throw new IllegalArgumentException("prompt is empty: give some text to continue");
        }
        if (n < 0) {
            throw new IllegalArgumentException("token count must be >= 0, got " + n);
        }
        int[] promptTokens = tokenizer().encode(prompt, true);
        int[] tokens;
        try (Session session = newSession(options)) {
            tokens = session.generate(new int[][] {promptTokens}, n, false)[0];
        }
        return new Generation(prompt, promptTokens, tokens, tokenizer().decodeAfter(promptTokens, tokens));
    }

    /** Teacher-forced scores of the sequences, without logits, in a short-lived session. */
    public ScoreResult score(List<int[]> sequences) {
        return score(sequences, false);
    }

    /** Teacher-forced scores of the sequences, with all logits if asked, in a short-lived session. */
    public ScoreResult score(List<int[]> sequences, boolean withLogits) {
        try (Session session = newSession()) {
            return session.score(sequences, withLogits);
        }
    }

    /**
     * The indices of the components whose names match {@code pattern} ({@code *} any run of
     * characters, {@code ?} one character, {@code [a-b]} a number from a to b, e.g.
     * {@code model.layers.[0-2].mlp.*}); a plain name matches itself.
     *
     * @throws dtm.errors.InvalidArgumentException nothing matches (the message lists what exists)
     */
    public int[] findComponents(String pattern) {
        Objects.requireNonNull(pattern, "pattern");
        return call(handle -> {
            try (BytePointer text = NativeText.of(pattern)) {
                int[] count = new int[1];
                int[] indices = new int[components.size()];
                Errors.check(Dtm.dtm_model_find_components(handle, text, indices, indices.length, count),
                        () -> "cannot resolve components '" + pattern + "'");
                return Arrays.copyOf(indices, count[0]);
            }
        });
    }

    /**
     * A candidate: this model with the given components compressed ({@code dtm_model_compress}).
     * Every other component, the norms and the tokenizer are shared with this model, not copied;
     * the candidate stays usable after this model is closed. Close it.
     *
     * @param compressions component index → compression (each component once)
     * @param calibration  needed when a compression is Wanda; else may be null
     * @param threads      threads to compress with; 0 = all CPUs
     * @throws dtm.errors.InvalidArgumentException a bad setting or shape (message names the component)
     */
    public Model compress(Map<Integer, Compression> compressions, Calibration calibration, int threads) {
        Objects.requireNonNull(compressions, "compressions");
        int n = compressions.size();
        int[] indices = new int[n];
        int i = 0;
        for (Integer index : compressions.keySet()) {
            indices[i++] = Objects.requireNonNull(index, "component index");
        }
        return call(handle -> {
            try (Dtm.dtm_compression settings = new Dtm.dtm_compression(Math.max(n, 1))) {
                for (int k = 0; k < n; k++) {
                    Compression c = Objects.requireNonNull(compressions.get(indices[k]), "compression");
                    Dtm.dtm_compression s = settings.getPointer(k);
                    s.kind(c.kind().code()).sparsity((float) c.sparsity()).n(c.n()).m(c.m())
                            .outlier_threshold((float) c.outlierThreshold());
                }
                Dtm.dtm_model candidate = new Dtm.dtm_model();
                if (calibration != null) {
                    calibration.use(cal -> {
                        Errors.check(Dtm.dtm_model_compress(handle, n, indices, settings, cal, threads, candidate),
                                () -> "cannot compress " + description());
                        return null;
                    });
                } else {
                    Errors.check(Dtm.dtm_model_compress(handle, n, indices, settings, null, threads, candidate),
                            () -> "cannot compress " + description());
                }
                return new Model(candidate, path, tokenizerPath);
            }
        });
    }

    /** {@link #compress(Map, Calibration, int)} of one component, on all CPUs. */
    public Model compress(int component, Compression compression) {
        return compress(Map.of(component, compression), null, 0);
    }

    /**
     * The effective fp32 weights of a component (rows × cols, row-major): dequantized, zeros
     * where pruned. For tests and tools; a large matrix makes a large array.
     */
    public float[] componentWeights(int component) {
        Component c = components.get(component);
        if (c.parameterCount() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(c.name() + " has too many weights for one array");
        }
        float[] out = new float[(int) c.parameterCount()];
        run(handle -> Errors.check(Dtm.dtm_model_component_weights(handle, component, out, out.length),
                () -> "cannot read the weights of " + c.name()));
        return out;
    }

    /**
     * The weights of one RMSNorm (dim values, fp32): what a training engine needs besides the
     * components' weights to run this model.
     *
     * @param layer the decoder layer; ignored for {@link NormKind#FINAL}
     * @throws dtm.errors.InvalidArgumentException a layer outside the model
     */
    public float[] normWeights(NormKind kind, int layer) {
        Objects.requireNonNull(kind, "kind");
        float[] out = new float[config().dim()];
        run(handle -> Errors.check(Dtm.dtm_model_norm_weights(handle, kind.code(), layer, out, out.length),
                () -> "cannot read the " + kind + " norm of layer " + layer));
        return out;
    }

    /**
     * A candidate: this model with the given matrices replaced by the given fp32 weights (row-major,
     * rows × cols each; e.g. trained ones), each stored as a pruned matrix is (sparse where that is
     * smaller, zeros kept exactly); everything else shared, as with {@link #compress}. Close it.
     *
     * @param weights component index → its weights
     * @throws IllegalArgumentException an array of the wrong length
     * @throws dtm.errors.NonFiniteWeightsException a NaN or infinity (the message names the component)
     * @throws dtm.errors.UnsupportedFeatureException the embedding (a lookup table)
     */
    public Model withWeights(Map<Integer, float[]> weights) {
        Objects.requireNonNull(weights, "weights");
        int n = weights.size();
        int[] indices = new int[n];
        long total = 0;
        int i = 0;
        for (Map.Entry<Integer, float[]> e : weights.entrySet()) {
            int index = Objects.requireNonNull(e.getKey(), "component index");
            float[] w = Objects.requireNonNull(e.getValue(), "weights");
            Component c = components.get(index);
            if (w.length != c.parameterCount()) {
                throw new IllegalArgumentException(c.name() + " has " + c.parameterCount() + " weights, got "
                        + w.length);
            }
            indices[i++] = index;
            total += w.length;
        }
        long count = total;
        return call(handle -> {
            try (FloatPointer all = new FloatPointer(Math.max(count, 1));
                 IntPointer listed = new IntPointer(indices)) {
                long at = 0;
                for (int index : indices) {
                    float[] w = weights.get(index);
                    all.position(at).put(w);
                    at += w.length;
                }
                all.position(0);
                Dtm.dtm_model candidate = new Dtm.dtm_model();
                Errors.check(Dtm.dtm_model_with_weights(handle, n, listed, all, count, candidate),
                        () -> "cannot put the given weights into " + description());
                return new Model(candidate, path, tokenizerPath);
            }
        });
    }

    /**
     * Writes the components of this candidate that differ from {@code base}, in their storage
     * formats, to a candidate file (safetensors; written to a temporary file and renamed).
     */
    public void exportCandidate(Path file, Model base) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(base, "base");
        run(handle -> base.run(baseHandle -> {
            try (BytePointer text = NativeText.of(file.toAbsolutePath().toString())) {
                Errors.check(Dtm.dtm_candidate_export(handle, baseHandle, text),
                        () -> "cannot export the candidate to " + file);
            }
        }));
    }

    /**
     * The model's content fingerprint ({@code dtm_model_fingerprint}: 16 hex digits over its shape,
     * embedding, norms and effective weights), as candidate files and plans name their base.
     * Computed once per model.
     */
    public String fingerprint() {
        return call(handle -> {
            byte[] text = new byte[64];
            int[] n = new int[1];
            Errors.check(Dtm.dtm_model_fingerprint(handle, text, text.length, n), () -> "cannot fingerprint " + description());
            return new String(text, 0, n[0], StandardCharsets.US_ASCII);
        });
    }

    /**
     * Writes this model (a base or a candidate) as a GGUF file of llama.cpp's llama architecture
     * ({@code dtm_model_export_gguf}; a temporary file renamed at the end): every matrix in the GGUF
     * type of its storage format, see docs/export.md. {@code name} (general.name) may be null.
     *
     * @throws dtm.errors.UnsupportedFeatureException what GGUF cannot hold, named
     */
    public void exportGguf(Path file, GgufVocabulary vocabulary, String name) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(vocabulary, "vocabulary");
        run(handle -> vocabulary.withNative(native8 -> {
            try (BytePointer path = NativeText.of(file.toAbsolutePath().toString());
                 BytePointer title = name == null ? null : NativeText.of(name)) {
                Errors.check(Dtm.dtm_model_export_gguf(handle, native8, title, path),
                        () -> "cannot export " + description() + " as GGUF to " + file);
            }
        }));
    }

    /**
     * Writes this model (a base or a candidate) as a Hugging Face checkpoint into {@code dir}
     * (created if needed; {@code dtm_model_export_hf}): config.json and model.safetensors in the
     * checkpoint's dtype, pruned matrices dense, naive int8 matrices in compressed-tensors'
     * int-quantized layout (docs/export.md), and the tokenizer files as
     * {@link #saveHuggingFace} writes them. Each file goes through a temporary file and a rename.
     *
     * @throws dtm.errors.UnsupportedFeatureException a format the checkpoint cannot hold, named
     */
    public void exportHuggingFace(Path dir) {
        Objects.requireNonNull(dir, "dir");
        run(handle -> {
            try (BytePointer text = NativeText.of(dir.toAbsolutePath().toString())) {
                Errors.check(Dtm.dtm_model_export_hf(handle, text),
                        () -> "cannot export " + description() + " as a Hugging Face checkpoint to " + dir);
            }
        });
        writeTokenizerFiles(dir);
    }

    /**
     * Loads a candidate file written by {@link #exportCandidate} onto this model (its base).
     *
     * @throws dtm.errors.ModelFormatException     a corrupt or foreign file
     * @throws dtm.errors.InvalidArgumentException the file was exported from another base
     */
    public Model loadCandidate(Path file) {
        Objects.requireNonNull(file, "file");
        return call(handle -> {
            try (BytePointer text = NativeText.of(file.toAbsolutePath().toString())) {
                Dtm.dtm_model candidate = new Dtm.dtm_model();
                Errors.check(Dtm.dtm_candidate_load(handle, text, candidate),
                        () -> "cannot load the candidate " + file);
                return new Model(candidate, path, tokenizerPath);
            }
        });
    }

    @Override
    protected void free(Dtm.dtm_model handle) {
        Dtm.dtm_model_free(handle);
        synchronized (this) {
            if (tokenizer instanceof HfTokenizer hf) {
                hf.close();
            }
        }
    }

    /** Runs an action on the open native model (for this package's classes). */
    <T> T use(Function<Dtm.dtm_model, T> action) {
        return call(action);
    }

    /** A session of this model has been freed. */
    void sessionClosed() {
        release();
    }

    private static ModelConfig readConfig(Dtm.dtm_model handle) {
        try (Dtm.dtm_model_config c = new Dtm.dtm_model_config()) {
            Errors.check(Dtm.dtm_model_get_config(handle, c), () -> "cannot read the model's config");
            return new ModelConfig(c.dim(), c.hidden_dim(), c.n_layers(), c.n_heads(), c.n_kv_heads(),
                    c.head_dim(), c.vocab_size(), c.max_seq_len(), c.rope_theta(), c.norm_eps(),
                    c.shared_classifier() != 0, c.bos_id(), c.eos_id(), c.n_params(),
                    ModelSource.ofCode(c.source()),
                    RopeScaling.of(c.rope_scaling(), c.rope_scaling_factor(), c.rope_low_freq_factor(),
                            c.rope_high_freq_factor(), c.rope_original_max_pos()),
                    c.qkv_bias() != 0, c.o_bias() != 0, c.mlp_bias() != 0);
        }
    }

    private static List<Component> readComponents(Dtm.dtm_model handle) {
        int count = Dtm.dtm_model_n_components(handle);
        List<Component> list = new ArrayList<>(Math.max(count, 0));
        try (Dtm.dtm_component_info info = new Dtm.dtm_component_info()) {
            for (int i = 0; i < count; i++) {
                int index = i;
                Errors.check(Dtm.dtm_model_component(handle, i, info),
                        () -> "cannot read component " + index);
                list.add(new Component(info.name().getString(StandardCharsets.UTF_8),
                        ComponentKind.ofCode(info.kind()), info.layer(), info.rows(), info.cols(),
                        WeightFormat.ofCode(info.format()), info.sparsity(), info.storage_bytes()));
            }
        }
        return List.copyOf(list);
    }
}
