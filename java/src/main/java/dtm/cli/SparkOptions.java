package dtm.cli;

import dtm.scan.CellRunner;
import dtm.scan.ClusterRunners;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.util.LinkedHashMap;
import java.util.Map;

/** Where dtm scan and dtm plan run their cells: this process (default) or Apache Spark (dtm-spark). */
final class SparkOptions {
    @Option(names = "--spark-master", paramLabel = "URL",
            description = {"Run the scan's cells (one task per layer) and the plan searches' measurements as "
                    + "Apache Spark tasks on this master: local[N] (in this process; run as local[N,4] so failed "
                    + "tasks are retried), spark://HOST:PORT, k8s://… Needs the dtm-spark module on the classpath "
                    + "(./dtm adds it). Every executor must read the model at the same path. The results are "
                    + "those of one process."})
    String master;

    @Option(names = "--spark",
            description = "Run the cells on Spark with the master that spark-submit set (see README).")
    boolean submitted;

    @Option(names = "--spark-conf", paramLabel = "KEY=VALUE",
            description = "A Spark setting for the job, e.g. spark.executor.memory=8g; repeatable.")
    Map<String, String> conf = new LinkedHashMap<>();

    @Option(names = "--spark-threads-per-task", paramLabel = "N", defaultValue = "0",
            description = "Engine threads of each Spark task (default: spark.task.cpus, 1 unless set).")
    int threadsPerTask;

    /** Whether the cells run on Spark. */
    boolean enabled() {
        return master != null || submitted;
    }

    /** The runner these options ask for; the caller closes it. */
    CellRunner open(CommandLine command) {
        if (threadsPerTask < 0) {
            throw new ParameterException(command, "--spark-threads-per-task must be >= 0, got " + threadsPerTask);
        }
        if (!enabled()) {
            return CellRunner.LOCAL;
        }
        return ClusterRunners.open("spark", new ClusterRunners.Options(master, threadsPerTask, conf));
    }
}
