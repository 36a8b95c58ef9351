package dtm.scan;

import dtm.errors.UnsupportedFeatureException;

import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;

/**
 * Cell runners of cluster frameworks, found on the classpath with {@link ServiceLoader}: the
 * dtm-spark module provides "spark" (DESIGN.md §4: Spark, not a scheduler of dtm's own). The
 * default scan needs none.
 */
public final class ClusterRunners {
    /** What a cluster module implements (listed in META-INF/services/dtm.scan.ClusterRunners$Provider). */
    public interface Provider {
        /** The framework's name, e.g. "spark". */
        String name();

        /** Starts a runner; the caller closes it. */
        CellRunner open(Options options);
    }

    /**
     * Where and how a cluster runs a scan's cells.
     *
     * @param master         the cluster's master URL (Spark: local[N], spark://host:port,
     *                       k8s://…); null = the one the launcher (spark-submit) set
     * @param threadsPerTask engine threads of each task's session; 0 = the framework's CPUs per
     *                       task (Spark: spark.task.cpus)
     * @param conf           further framework settings (Spark: spark.* keys)
     */
    public record Options(String master, int threadsPerTask, Map<String, String> conf) {
        public Options {
            conf = Map.copyOf(conf);
            if (threadsPerTask < 0) {
                throw new IllegalArgumentException("threadsPerTask must be >= 0, got " + threadsPerTask);
            }
        }
    }

    private ClusterRunners() {}

    /**
     * Opens the runner of the framework {@code name}.
     *
     * @throws UnsupportedFeatureException no module for it is on the classpath
     */
    public static CellRunner open(String name, Options options) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(options, "options");
        for (Provider p : ServiceLoader.load(Provider.class)) {
            if (p.name().equals(name)) {
                return p.open(options);
            }
        }
        throw new UnsupportedFeatureException(dtm.errors.Status.UNSUPPORTED.code(), "cannot run the scan on " + name,
                "no " + name + " module on the classpath: run dtm from a checkout "
                + "with ./dtm (it adds dtm-spark and Spark when --spark-master is given), or put dtm-spark.jar "
                + "and Spark's jars on the classpath");
    }
}
