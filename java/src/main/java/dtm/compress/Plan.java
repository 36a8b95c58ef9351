package dtm.compress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.data.AtomicFiles;
import dtm.model.Calibration;
import dtm.model.ComponentKind;
import dtm.model.Compression;
import dtm.model.Model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A compression plan: which components get which compression (DESIGN.md §2). Applied to a base it
 * gives a candidate that shares every unchanged matrix with the base.
 *
 * <p>Entries apply in order. Each names components by pattern (see {@link Model#findComponents})
 * and gives one compression or a list applied one after another (e.g. prune, then quantize). A
 * component matched by several entries takes the last one's compressions, so a plan can set a
 * default with {@code *} and override it below. A wildcard pattern passes over the token
 * embedding (a lookup table, not a matrix product). JSON form (schema {@value #SCHEMA}, see
 * docs/json-schema.md):
 *
 * <pre>{@code
 * {"schema": "dtm.plan/1",
 *  "description": "naive int8 except the MLP down projections",
 *  "components": [
 *    {"match": "model.layers.*", "compression": "int8"},
 *    {"match": "*.mlp.down_proj", "compression": ["magnitude:0.5", "int8-outlier"],
 *     "evidence": {"fdt75": 93}}]}
 * }</pre>
 *
 * @param description free text saying what the plan is
 * @param entries     the entries in order
 * <p>A plan made with recovery training ({@code dtm plan --recover-tokens}) also names its
 * {@link Recovered} weights: a candidate file of the trained matrices, which {@link #apply} loads
 * onto the base before the entries. The trained matrices already carry every entry's zeros (pruned
 * weights stay exactly zero in training), so the entries' prunings change nothing there; they
 * are kept so that the plan reads like any other, and an entry added by hand (e.g. int8 after the
 * pruning) applies to the trained weights.
 *
 * @param base        the content fingerprint ({@link Model#fingerprint()}) of the base the plan was
 *                    made for, or null for a plan written by hand; a plan with a base is refused
 *                    on any other model ({@link #checkBase})
 * @param recovered   the trained weights the entries apply to, or null for the base's own
 */
public record Plan(String description, List<Entry> entries, String base, Recovered recovered) {
    /** The schema name written into plan files without trained weights, and read. */
    public static final String SCHEMA = "dtm.plan/1";
    /**
     * The schema of a plan with {@link Recovered} weights: a reader of {@link #SCHEMA} alone would
     * apply its entries to the base and miss the training, so such a plan says so; read too.
     */
    public static final String SCHEMA_RECOVERED = "dtm.plan/2";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * One entry of a plan.
     *
     * @param match        component name or pattern
     * @param compressions applied in order (at least one)
     * @param evidence     why this choice was made (measurements), kept as given except that a
     *                     non-finite number (NaN, an infinity, a literal beyond the double range)
     *                     becomes null, as everywhere in dtm's JSON; may be null
     */
    public record Entry(String match, List<Compression> compressions, JsonNode evidence) {
        public Entry {
            Objects.requireNonNull(match, "match");
            compressions = List.copyOf(compressions);
            if (compressions.isEmpty()) {
                throw new IllegalArgumentException("plan entry '" + match + "' has no compression");
            }
            evidence = evidence == null ? null : finite(evidence.deepCopy());
        }

        public Entry(String match, Compression compression) {
            this(match, List.of(compression), null);
        }
    }

    /**
     * Trained weights a plan starts from (recovery training, docs/recovery.md).
     *
     * @param weights  the candidate file of the trained matrices ({@link Model#exportCandidate},
     *                 fingerprinted to the plan's base), kept absolute (a relative path is taken
     *                 from the working directory; in a plan file it is relative to the file's
     *                 directory)
     * @param training how they were trained (objective, budget, optimizer, the training prompts
     *                 and their split from the evaluation prompts, per step tokens/s and loss)
     */
    public record Recovered(Path weights, JsonNode training) {
        public Recovered {
            weights = Objects.requireNonNull(weights, "weights").toAbsolutePath().normalize();
            training = training == null ? null : finite(training.deepCopy());
        }
    }

    public Plan {
        description = description == null ? "" : description;
        entries = List.copyOf(entries);
        if (base != null && !base.matches("[0-9a-f]{16}")) {
            throw new IllegalArgumentException("a plan's base must be a model fingerprint of 16 hex digits, got '"
                    + base + "'");
        }
    }

    /** A plan for any base. */
    public Plan(String description, List<Entry> entries) {
        this(description, entries, null, null);
    }

    /** A plan of the base's own weights. */
    public Plan(String description, List<Entry> entries, String base) {
        this(description, entries, base, null);
    }

    /** This plan, marked as made for the model with {@code fingerprint}. */
    public Plan withBase(String fingerprint) {
        return new Plan(description, entries, fingerprint, recovered);
    }

    /** This plan, starting from trained weights (null: the base's own). */
    public Plan withRecovered(Recovered weights) {
        return new Plan(description, entries, base, weights);
    }

    /**
     * Refuses to apply this plan to a model it was not made for.
     *
     * @throws IllegalArgumentException the plan names a base and {@code model} is another one
     */
    public void checkBase(Model model, String planName) {
        if (base == null) {
            return;
        }
        String fingerprint = model.fingerprint();
        if (!base.equals(fingerprint)) {
            throw new IllegalArgumentException(planName + " was made for the base with fingerprint " + base
                    + ", not for " + model.path().getFileName() + " (fingerprint " + fingerprint + ")");
        }
    }

    /** A plan of one entry. */
    public static Plan of(String match, Compression compression) {
        return new Plan("", List.of(new Entry(match, compression)));
    }

    /** Whether some entry uses Wanda, which needs a {@link Calibration}. */
    public boolean needsCalibration() {
        return entries.stream().flatMap(e -> e.compressions().stream())
                .anyMatch(c -> c.kind() == Compression.Kind.WANDA);
    }

    /**
     * The compressions of each component of {@code model} this plan touches, in component order.
     *
     * @throws dtm.errors.InvalidArgumentException an entry matches no component
     */
    public Map<Integer, List<Compression>> resolve(Model model) {
        Map<Integer, List<Compression>> byComponent = new TreeMap<>();
        for (Entry e : entries) {
            boolean wildcard = e.match().matches(".*[*?\\[].*");
            for (int index : model.findComponents(e.match())) {
                // The embedding is a lookup table, not a matrix product: a wildcard passes over
                // it; naming it explicitly reaches the engine, which says why it cannot be done.
                if (wildcard && model.components().get(index).kind() == ComponentKind.EMBEDDING) {
                    continue;
                }
                byComponent.put(index, e.compressions());
            }
        }
        return byComponent;
    }

    /**
     * The candidate this plan makes of {@code base}: stage k compresses every component that has
     * a k-th compression, starting from stage k-1's result. Close it.
     *
     * @param calibration needed when {@link #needsCalibration()}; else may be null
     * @param threads     0 = all CPUs
     */
    public Model apply(Model base, Calibration calibration, int threads) {
        Objects.requireNonNull(base, "base");
        Map<Integer, List<Compression>> resolved = resolve(base);
        int stages = resolved.values().stream().mapToInt(List::size).max().orElse(0);
        // A candidate even for an empty plan; a recovered plan starts from its trained weights.
        Model current = recovered != null ? base.loadCandidate(recovered.weights()) : base.compress(Map.of(), null, threads);
        for (int stage = 0; stage < stages; stage++) {
            Map<Integer, Compression> step = new LinkedHashMap<>();
            for (Map.Entry<Integer, List<Compression>> e : resolved.entrySet()) {
                if (stage < e.getValue().size()) {
                    step.put(e.getKey(), e.getValue().get(stage));
                }
            }
            Model next;
            try {
                next = current.compress(step, calibration, threads);
            } finally {
                current.close();
            }
            current = next;
        }
        return current;
    }

    /**
     * {@code node} with every non-finite number replaced by null, in place: Jackson would write
     * them as the strings "NaN" / "Infinity", which read back as text, not numbers.
     */
    private static JsonNode finite(JsonNode node) {
        if (node.isNumber() && !node.isIntegralNumber() && !Double.isFinite(node.doubleValue())) {
            return NullNode.getInstance();
        }
        if (node instanceof ObjectNode object) {
            for (Map.Entry<String, JsonNode> e : object.properties()) {
                e.setValue(finite(e.getValue()));
            }
        } else if (node instanceof ArrayNode array) {
            for (int i = 0; i < array.size(); i++) {
                array.set(i, finite(array.get(i)));
            }
        }
        return node;
    }

    /** The plan as JSON (schema {@value #SCHEMA}); a recovered plan's weights path as it is. */
    public String toJson() {
        return toJson(null);
    }

    /** The JSON of a plan file in {@code dir}: the recovered weights' path relative to it where it can be. */
    private String toJson(Path dir) {
        ObjectNode root = JSON.createObjectNode();
        root.put("schema", recovered != null ? SCHEMA_RECOVERED : SCHEMA);
        root.put("description", description);
        if (base != null) {
            root.put("base", base);
        }
        ArrayNode list = root.putArray("components");
        for (Entry e : entries) {
            ObjectNode node = list.addObject();
            node.put("match", e.match());
            if (e.compressions().size() == 1) {
                node.put("compression", e.compressions().get(0).toString());
            } else {
                ArrayNode cs = node.putArray("compression");
                e.compressions().forEach(c -> cs.add(c.toString()));
            }
            if (e.evidence() != null) {
                node.set("evidence", e.evidence());
            }
        }
        if (recovered != null) {
            ObjectNode r = root.putObject("recovered");
            Path w = recovered.weights();
            if (dir != null && w.isAbsolute()) {
                w = dir.relativize(w);
            }
            r.put("weights", w.toString());
            if (recovered.training() != null) {
                r.set("training", recovered.training());
            }
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a plan as JSON", e);
        }
    }

    /**
     * Reads a plan from JSON.
     *
     * @throws IllegalArgumentException not a plan of schema {@value #SCHEMA}, or a bad entry
     */
    public static Plan fromJson(String json) {
        return fromJson(json, null);
    }

    /** {@link #fromJson(String)} of a plan file in {@code dir} (null: paths as written). */
    private static Plan fromJson(String json, Path dir) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("a plan must be JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("a plan must be a JSON object with \"schema\": \"" + SCHEMA + "\"");
        }
        String schema = root.path("schema").asText("");
        if (!SCHEMA.equals(schema) && !SCHEMA_RECOVERED.equals(schema)) {
            throw new IllegalArgumentException("not a dtm plan: schema is '" + schema + "', expected '" + SCHEMA
                    + "' or '" + SCHEMA_RECOVERED + "'");
        }
        JsonNode list = root.path("components");
        if (!list.isArray()) {
            throw new IllegalArgumentException("a plan needs a \"components\" array");
        }
        List<Entry> entries = new ArrayList<>();
        for (JsonNode node : list) {
            String match = node.path("match").asText(null);
            if (match == null || match.isEmpty()) {
                throw new IllegalArgumentException("plan entry " + entries.size() + " has no \"match\"");
            }
            JsonNode c = node.path("compression");
            List<Compression> compressions = new ArrayList<>();
            if (c.isTextual()) {
                compressions.add(Compression.parse(c.asText()));
            } else if (c.isArray()) {
                for (JsonNode one : c) {
                    compressions.add(Compression.parse(one.asText()));
                }
            } else {
                throw new IllegalArgumentException("plan entry '" + match + "' needs \"compression\": a text such as "
                        + "\"int8\" or a list of them");
            }
            JsonNode evidence = node.get("evidence");
            entries.add(new Entry(match, compressions, evidence == null || evidence.isNull() ? null : evidence));
        }
        JsonNode base = root.get("base");
        if (base != null && !base.isNull() && !base.isTextual()) {
            throw new IllegalArgumentException("a plan's \"base\" must be a fingerprint text, got " + base);
        }
        Recovered recovered = null;
        JsonNode r = root.get("recovered");
        if (SCHEMA_RECOVERED.equals(schema) != (r != null && !r.isNull())) {
            throw new IllegalArgumentException("a plan of schema '" + SCHEMA_RECOVERED + "' names its trained weights "
                    + "(\"recovered\") and only such a plan has them; this one has schema '" + schema + "'"
                    + (r != null && !r.isNull() ? " and \"recovered\"" : " and no \"recovered\""));
        }
        if (r != null && !r.isNull()) {
            JsonNode w = r.get("weights");
            if (!r.isObject() || w == null || !w.isTextual() || w.asText().isEmpty()) {
                throw new IllegalArgumentException("a plan's \"recovered\" needs \"weights\": the path of its candidate file");
            }
            Path weights = Path.of(w.asText());
            if (dir != null && !weights.isAbsolute()) {
                weights = dir.resolve(weights);
            }
            recovered = new Recovered(weights, r.get("training"));
        }
        return new Plan(root.path("description").asText(""), entries,
                base == null || base.isNull() ? null : base.asText(), recovered);
    }

    /** Reads a plan file. */
    public static Plan read(Path file) {
        try {
            return fromJson(Files.readString(file), file.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the plan " + file + ": " + e.getMessage(), e);
        }
    }

    /** Writes the plan to a file (through a temporary file and a rename). */
    public void write(Path file) {
        try {
            AtomicFiles.writeString(file, toJson(file.toAbsolutePath().getParent()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the plan " + file + ": " + e.getMessage(), e);
        }
    }
}
