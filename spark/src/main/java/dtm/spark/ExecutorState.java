package dtm.spark;

import dtm.metrics.Reference;
import dtm.model.Model;
import dtm.model.ModelOptions;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * What one JVM that runs scan tasks keeps between them: each model loaded once (keyed by its
 * fingerprint) and each reference read once (keyed by the SHA-256 of its file). Executors of a
 * cluster load them on their first task; in-process runs (local[N]) find the driver's own
 * objects, offered before the job starts, so the model is in memory once.
 */
final class ExecutorState {
    private static final Map<String, Model> MODELS = new HashMap<>();
    /** The references read most recently (a pruning search ships one per step), at most {@value #KEPT_REFERENCES}. */
    private static final int KEPT_REFERENCES = 4;
    private static final Map<String, Reference> REFERENCES = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Reference> eldest) {
            return size() > KEPT_REFERENCES && !OFFERED.containsKey(eldest.getKey());
        }
    };
    /** Objects this JVM's driver offered (closed by the driver, never here). */
    private static final Map<String, Object> OFFERED = new HashMap<>();

    private ExecutorState() {}

    /** The driver's model and reference, for tasks that run in the driver's JVM. */
    static synchronized void offer(String fingerprint, Model model, String referenceKey, Reference reference) {
        MODELS.put(fingerprint, model);
        REFERENCES.put(referenceKey, reference);
        OFFERED.put(fingerprint, model);
        OFFERED.put(referenceKey, reference);
    }

    /** Forgets what the driver offered (the driver is about to close it). */
    static synchronized void withdraw(String fingerprint, String referenceKey) {
        if (OFFERED.remove(fingerprint) != null) {
            MODELS.remove(fingerprint);
        }
        if (OFFERED.remove(referenceKey) != null) {
            REFERENCES.remove(referenceKey);
        }
    }

    /**
     * The model with this fingerprint, loaded from {@code path} on first use. The file must be
     * readable at that path on every executor (a shared file system or the same image).
     *
     * @throws IllegalStateException the file there is another model
     */
    static synchronized Model model(String path, String tokenizer, String fingerprint) {
        Model m = MODELS.get(fingerprint);
        if (m != null) {
            return m;
        }
        Model loaded = Model.load(Path.of(path), ModelOptions.defaults().withTokenizer(Path.of(tokenizer))
                .withCheckFinite(false));  // the driver checked these weights; the fingerprint ties them
        if (!loaded.fingerprint().equals(fingerprint)) {
            String other = loaded.fingerprint();
            loaded.close();
            throw new IllegalStateException("the model at " + path + " on this executor has fingerprint " + other
                    + ", the driver's " + fingerprint + ": every executor must read the same model file");
        }
        MODELS.put(fingerprint, loaded);
        return loaded;
    }

    /** The reference whose file's SHA-256 is {@code key}, read from {@code bytes} on first use. */
    static synchronized Reference reference(String key, byte[] bytes) {
        Reference r = REFERENCES.get(key);
        if (r != null) {
            return r;
        }
        r = Reference.fromBytes(bytes);
        REFERENCES.put(key, r);
        return r;
    }
}
