package dtm.spark;

import com.fasterxml.jackson.databind.JsonNode;
import dtm.metrics.Reference;
import dtm.model.Model;
import dtm.scan.CellFailedException;
import dtm.scan.CellRunner;
import dtm.scan.ClusterRunners;
import dtm.scan.LayerCells;
import dtm.scan.PlanScores;
import dtm.scan.PlanWork;
import dtm.scan.ScanCell;
import dtm.scan.ScanWork;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A scan's cells as Spark tasks: one job of one task per layer, all submitted at once so that
 * the cluster runs as many layers side by side as it has task slots. The pruning search's
 * measurements of a step go the same way (cells on top of the current plan's candidate), and
 * whole plans (the int8 prefix checks, the compared plans) as one job of one task per plan. The driver ships the
 * reference with the job (a broadcast of its file); each executor loads the model once from its
 * path (which every executor must be able to read) and checks its fingerprint. Cells come back
 * per layer as its task ends and go to the scan's sink (checkpoint, progress) on the calling
 * thread, in the order layers finish.
 *
 * <p>Faults: a task that dies is retried by Spark (spark.task.maxFailures; in-process masters
 * local[N] are run as local[N,4], the cluster default) and gives the same cells; a cell the
 * engine refuses fails the scan with that cell named ({@link CellFailedException}).
 */
public final class SparkCellRunner implements CellRunner {
    /** Tests only: the first attempt of this layer's task fails after its work (a lost task). */
    public static final String FAIL_LAYER_ONCE = "spark.dtm.test.failLayerOnce";
    /** Task attempts when the master is local[N] (Spark's default for clusters). */
    static final int LOCAL_MAX_FAILURES = 4;
    private static final Pattern LOCAL = Pattern.compile("local\\[(\\d+|\\*)]");

    private final JavaSparkContext spark;
    private final int threadsPerTask;

    SparkCellRunner(ClusterRunners.Options options) {
        SparkConf conf = new SparkConf(true).setAppName("dtm scan");
        if (options.master() != null) {
            conf.setMaster(withRetries(options.master()));
        }
        options.conf().forEach(conf::set);
        if (!conf.contains("spark.master")) {
            throw new IllegalArgumentException("no Spark master: give --spark-master (e.g. local[2] or "
                    + "spark://host:7077), or start dtm with spark-submit");
        }
        // dtm shows its own progress; the web UI of an in-process run is rarely wanted. Either
        // can be switched back on with --spark-conf.
        conf.setIfMissing("spark.ui.showConsoleProgress", "false");
        if (conf.get("spark.master").startsWith("local")) {
            conf.setIfMissing("spark.ui.enabled", "false");
        }
        int cpus = conf.getInt("spark.task.cpus", 1);
        this.threadsPerTask = options.threadsPerTask() > 0 ? options.threadsPerTask() : cpus;
        this.spark = new JavaSparkContext(conf);
        spark.setLogLevel("WARN");
    }

    /** local[N] and local[*] as local[N,4], so that a failed task is retried as on a cluster. */
    static String withRetries(String master) {
        Matcher m = LOCAL.matcher(master.strip());
        return m.matches() ? "local[" + m.group(1) + "," + LOCAL_MAX_FAILURES + "]" : master.strip();
    }

    /** The Spark master this runner's context runs on. */
    public String master() {
        return spark.master();
    }

    /** Engine threads of each task's sessions. */
    public int threadsPerTask() {
        return threadsPerTask;
    }

    /** Task slots of the cluster (Spark's default parallelism: local[2] has 2). */
    @Override
    public int slots() {
        return Math.max(1, spark.defaultParallelism());
    }

    @Override
    public void run(ScanWork work, Consumer<ScanCell> sink) {
        if (work.layers().isEmpty()) {
            return;
        }
        ExecutorService waiters = Executors.newFixedThreadPool(Math.min(work.layers().size(), 64), r -> {
            Thread t = new Thread(r, "dtm-spark-layer");
            t.setDaemon(true);
            return t;
        });
        List<JavaFutureAction<List<List<String>>>> jobs = new ArrayList<>();
        try (Shipment shipped = new Shipment(work.base(), work.reference())) {
            TaskSetup setup = TaskSetup.of(work.base(), shipped.key, shipped.bytes, work.run(), threadsPerTask);
            String onTopOf = work.onTopOf() == null ? null : work.onTopOf().toJson();
            CompletionService<List<String>> finished = new ExecutorCompletionService<>(waiters);
            int failLayer = Integer.parseInt(spark.getConf().get(FAIL_LAYER_ONCE, "-1"));
            try {
                for (LayerCells layer : work.layers()) {
                    LayerTask task = task(setup, work, layer, onTopOf, failLayer);
                    spark.setJobDescription("dtm: layer " + layer.layer() + " (" + layer.cells().size() + " cells)");
                    JavaFutureAction<List<List<String>>> job = spark.parallelize(List.of(task), 1).map(t -> t.call())
                            .collectAsync();
                    jobs.add(job);
                    finished.submit(() -> job.get().get(0));
                }
                for (int i = 0; i < jobs.size(); i++) {
                    List<String> cells;
                    try {
                        cells = finished.take().get();
                    } catch (ExecutionException e) {
                        throw new IllegalStateException("a Spark task failed: " + firstLine(rootMessage(e)),
                                e.getCause());
                    }
                    for (String json : cells) {
                        sink.accept(cell(json));
                    }
                }
                shipped.finished();
            } finally {
                // Before the shipment closes (also when a submission failed): the other layers'
                // jobs may still be scheduling tasks that carry its broadcast.
                jobs.forEach(j -> j.cancel(true));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the Spark tasks", e);
        } finally {
            waiters.shutdownNow();
        }
    }

    /** One task per plan, all in one job; a plan the engine refuses fails the call with the plan named. */
    @Override
    public List<PlanScores> evaluate(PlanWork work) {
        if (work.plans().isEmpty()) {
            return List.of();
        }
        try (Shipment shipped = new Shipment(work.base(), work.reference())) {
            TaskSetup setup = TaskSetup.of(work.base(), shipped.key, shipped.bytes, work.run(), threadsPerTask);
            String[] scanned = work.scanned().toArray(String[]::new);
            List<PlanTask> tasks = new ArrayList<>();
            for (var plan : work.plans()) {
                tasks.add(new PlanTask(setup, plan.toJson(), scanned));
            }
            spark.setJobDescription("dtm: " + tasks.size() + " plan(s)");
            List<String> results;
            try {
                results = spark.parallelize(tasks, tasks.size()).map(t -> t.call()).collect();
                shipped.finished();
            } catch (RuntimeException e) {
                throw new IllegalStateException("a Spark task failed: " + firstLine(rootMessage(e)), e);
            }
            List<PlanScores> out = new ArrayList<>();
            for (String json : results) {
                try {
                    JsonNode node = LayerTask.JSON.readTree(json);
                    if (node.has(LayerTask.FAILED)) {
                        throw new IllegalArgumentException("the plan '" + node.get("plan").asText()
                                + "' could not be evaluated: " + node.get("message").asText());
                    }
                    out.add(LayerTask.JSON.treeToValue(node, PlanScores.class));
                } catch (IOException e) {
                    throw new UncheckedIOException("a Spark task returned scores that are not JSON: "
                            + e.getMessage(), e);
                }
            }
            return out;
        }
    }

    /**
     * What goes with a job: the reference's file as a broadcast (keyed by its SHA-256), and the
     * driver's own model and reference offered to tasks that run in this JVM (local[N]).
     */
    private final class Shipment implements AutoCloseable {
        final String fingerprint;
        final String key;
        final Broadcast<byte[]> bytes;
        private boolean finished;

        Shipment(Model base, Reference reference) {
            byte[] file = referenceFile(reference);
            this.fingerprint = base.fingerprint();
            this.key = sha256(file);
            ExecutorState.offer(fingerprint, base, key, reference);
            this.bytes = spark.broadcast(file);
        }

        /** Every task that carries the broadcast has ended; closing may destroy it. */
        void finished() {
            finished = true;
        }

        /**
         * Destroys the broadcast after a job that finished; after a failed or cancelled one only
         * drops the executors' copies, since a cancelled job's tasks may still be serialized with it
         * (Spark's cleaner frees the driver's copy once the broadcast is unreachable).
         */
        @Override
        public void close() {
            if (finished) {
                bytes.destroy();
            } else {
                bytes.unpersist(false);
            }
            ExecutorState.withdraw(fingerprint, key);
        }
    }

    private static LayerTask task(TaskSetup setup, ScanWork work, LayerCells layer, String onTopOf, int failLayer) {
        int n = layer.cells().size();
        int[] components = new int[n];
        String[] settings = new String[n];
        for (int i = 0; i < n; i++) {
            components[i] = layer.cells().get(i).component();
            settings[i] = layer.cells().get(i).setting().toString();
        }
        return new LayerTask(setup, layer.layer(), components, settings, work.cacheLayerInputs(), onTopOf, failLayer);
    }

    /** A cell from its JSON, or the cell failure it records. */
    private static ScanCell cell(String json) {
        try {
            JsonNode node = LayerTask.JSON.readTree(json);
            if (node.has(LayerTask.FAILED)) {
                throw new CellFailedException(node.get("component").asText(), node.get("setting").asText(),
                        node.get("message").asText());
            }
            return LayerTask.JSON.treeToValue(node, ScanCell.class);
        } catch (IOException e) {
            throw new UncheckedIOException("a Spark task returned a cell that is not JSON: " + e.getMessage(), e);
        }
    }

    private static byte[] referenceFile(Reference reference) {
        try {
            return reference.toBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the reference for the Spark job: " + e.getMessage(), e);
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Where the cells run, for the report: the master and threads per task. */
    @Override
    public String toString() {
        return "master " + spark.master() + ", " + threadsPerTask + " engine thread" + (threadsPerTask == 1 ? "" : "s")
                + " per task";
    }

    @Override
    public void close() {
        spark.close();
    }
}
