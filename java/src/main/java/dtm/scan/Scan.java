package dtm.scan;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.metrics.Reference;
import dtm.metrics.RunOptions;
import dtm.model.Component;
import dtm.model.ComponentKind;
import dtm.model.Compression;
import dtm.model.Model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * A component scan (DESIGN.md §3): every chosen component × every setting, each cell that one
 * component compressed alone and evaluated against the base's reference.
 *
 * <p>Cells run layer by layer. With {@link Options#cacheLayerInputs()} the residual stream
 * entering the layer is captured once (from the previous layer's, so all captures together cost
 * one pass) and each cell of the layer starts there: the layers before it are the base's, so
 * the results are bitwise those of a full pass. With a checkpoint file every finished cell is
 * written at once and a rerun skips the cells already there. The cells run in this process or,
 * with {@link Options#runner()} a cluster's runner (dtm-spark), as tasks elsewhere; they stream
 * back into the same checkpoint.
 */
public final class Scan {
    /** The settings a scan tries when none are given. */
    public static final List<Compression> DEFAULT_SETTINGS = List.of(Compression.magnitude(0.25),
            Compression.magnitude(0.5),
            Compression.magnitude(0.75), Compression.magnitude(0.9), Compression.magnitude(0.95), Compression.int8(),
            Compression.int8Outlier(Compression.DEFAULT_OUTLIER_THRESHOLD), Compression.q4_0());

    /**
     * What to scan and how.
     *
     * @param components       component patterns (see {@link Model#findComponents}); the token
     *                         embedding is never scanned
     * @param settings         compressions to try on each component
     * @param cacheLayerInputs start each cell at its layer from cached inputs (DESIGN.md §3)
     * @param checkpoint       checkpoint file to resume from and write to; null = none
     * @param run              sessions, chunking and progress
     * @param runner           where the cells run: {@link CellRunner#LOCAL} (this process) or a
     *                         cluster's runner ({@link ClusterRunners}), which the caller closes
     */
    public record Options(List<String> components, List<Compression> settings, boolean cacheLayerInputs,
                          Path checkpoint, RunOptions run, CellRunner runner) {
        public Options {
            components = List.copyOf(components);
            settings = List.copyOf(settings);
            Objects.requireNonNull(run, "run");
            Objects.requireNonNull(runner, "runner");
            if (components.isEmpty() || settings.isEmpty()) {
                throw new IllegalArgumentException("a scan needs at least one component pattern and one setting");
            }
        }

        /** The scan of the given cells in this process. */
        public Options(List<String> components, List<Compression> settings, boolean cacheLayerInputs,
                       Path checkpoint, RunOptions run) {
            this(components, settings, cacheLayerInputs, checkpoint, run, CellRunner.LOCAL);
        }

        /** Every decoder matrix, the default settings, cached layer inputs, no checkpoint, in this process. */
        public static Options defaults() {
            return new Options(List.of("model.layers.*"), DEFAULT_SETTINGS, true, null, RunOptions.defaults());
        }

        public Options withComponents(List<String> patterns) {
            return new Options(patterns, settings, cacheLayerInputs, checkpoint, run, runner);
        }

        public Options withSettings(List<Compression> s) {
            return new Options(components, s, cacheLayerInputs, checkpoint, run, runner);
        }

        public Options withCacheLayerInputs(boolean cache) {
            return new Options(components, settings, cache, checkpoint, run, runner);
        }

        public Options withCheckpoint(Path file) {
            return new Options(components, settings, cacheLayerInputs, file, run, runner);
        }

        public Options withRun(RunOptions r) {
            return new Options(components, settings, cacheLayerInputs, checkpoint, r, runner);
        }

        public Options withRunner(CellRunner r) {
            return new Options(components, settings, cacheLayerInputs, checkpoint, run, r);
        }
    }

    private Scan() {}

    /**
     * Runs the scan of {@code base} against {@code reference} (which must be the base's).
     * Progress is reported as task "scan" over the cells.
     */
    public static ScanResult run(Model base, Reference reference, Options options) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(reference, "reference");
        Objects.requireNonNull(options, "options");
        long start = System.nanoTime();
        List<Integer> indices = resolve(base, options.components());
        List<String> settings = options.settings().stream().map(Compression::toString).toList();
        int total = indices.size() * settings.size();
        int n = reference.settings().options().n();
        String baseName = base.path() + " (" + reference.settings().base().shortForm() + ")";
        String refName = reference.prompts().size() + " prompts, N = " + n + ", prompts SHA-256 "
                + reference.settings().promptsSha256().substring(0, 12);

        ScanCheckpoint checkpoint = options.checkpoint() == null ? null
                : ScanCheckpoint.open(options.checkpoint(), header(reference, base, indices, settings));
        try {
            Map<String, ScanCell> cells = new HashMap<>();
            if (checkpoint != null) {
                checkpoint.done().forEach(c -> cells.put(key(c.component(), c.setting()), c));
            }
            RunOptions quiet = options.run().withProgress(dtm.metrics.Progress.NONE);
            options.run().progress().update("scan", cells.size(), total);
            ScanWork work = new ScanWork(base, reference, pending(base, indices, options.settings(), cells),
                    options.cacheLayerInputs(), quiet);
            options.runner().run(work, cell -> {
                if (checkpoint != null) {
                    checkpoint.append(cell);
                }
                cells.put(key(cell.component(), cell.setting()), cell);
                options.run().progress().update("scan", cells.size(), total);
            });
            return new ScanResult(baseName, refName, n, settings, inOrder(cells, base, indices, settings),
                    (System.nanoTime() - start) / 1e9);
        } finally {
            if (checkpoint != null) {
                checkpoint.close();
            }
        }
    }

    /** Component indices matched by the patterns, in component order, without the embedding. */
    static List<Integer> resolve(Model base, List<String> patterns) {
        TreeSet<Integer> set = new TreeSet<>();
        for (String p : patterns) {
            for (int i : base.findComponents(p)) {
                if (base.components().get(i).kind() != ComponentKind.EMBEDDING) {
                    set.add(i);
                }
            }
        }
        if (set.isEmpty()) {
            throw new IllegalArgumentException("the patterns " + patterns + " match only the embedding, which is not "
                    + "a matrix product and cannot be scanned");
        }
        return List.copyOf(set);
    }

    /** The layer whose inputs a component's cells start from: its own, or the head's (after all layers). */
    static int layerOf(Component c, int layers) {
        return c.layer() >= 0 ? c.layer() : layers;
    }

    private static List<Integer> layersOf(Model base, List<Integer> indices) {
        TreeSet<Integer> layers = new TreeSet<>();
        for (int i : indices) {
            layers.add(layerOf(base.components().get(i), base.config().layers()));
        }
        return List.copyOf(layers);
    }

    /** The cells not yet in {@code done}, by layer in increasing order, each layer's in scan order. */
    private static List<LayerCells> pending(Model base, List<Integer> indices, List<Compression> settings,
                                            Map<String, ScanCell> done) {
        int layers = base.config().layers();
        List<LayerCells> out = new ArrayList<>();
        for (int layer : layersOf(base, indices)) {
            List<LayerCells.Cell> cells = new ArrayList<>();
            for (int i : indices) {
                Component c = base.components().get(i);
                if (layerOf(c, layers) != layer) {
                    continue;
                }
                for (Compression s : settings) {
                    if (!done.containsKey(key(c.name(), s.toString()))) {
                        cells.add(new LayerCells.Cell(i, s));
                    }
                }
            }
            if (!cells.isEmpty()) {
                out.add(new LayerCells(layer, cells));
            }
        }
        return out;
    }

    /** The key of a cell in the map of finished cells. */
    private static String key(String component, String setting) {
        return component + '\n' + setting;
    }

    private static List<ScanCell> inOrder(Map<String, ScanCell> cells, Model base, List<Integer> indices,
                                          List<String> settings) {
        List<ScanCell> out = new ArrayList<>();
        for (int i : indices) {
            for (String s : settings) {
                ScanCell c = cells.get(key(base.components().get(i).name(), s));
                if (c != null) {
                    out.add(c);
                }
            }
        }
        return out;
    }

    private static ObjectNode header(Reference reference, Model base, List<Integer> indices, List<String> settings) {
        ObjectNode h = new ObjectMapper().createObjectNode();
        h.put("baseModelSha256", reference.settings().base().modelSha256());
        h.put("tokenizerSha256", reference.settings().base().tokenizerSha256());
        h.put("promptsSha256", reference.settings().promptsSha256());
        h.put("n", reference.settings().options().n());
        h.put("topK", reference.settings().options().topK());
        h.put("stopAtEos", reference.settings().options().stopAtEos());
        ArrayNode comps = h.putArray("components");
        indices.forEach(i -> comps.add(base.components().get(i).name()));
        ArrayNode set = h.putArray("settings");
        settings.forEach(set::add);
        return h;
    }
}
