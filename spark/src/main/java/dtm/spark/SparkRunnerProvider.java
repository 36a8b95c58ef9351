package dtm.spark;

import dtm.scan.CellRunner;
import dtm.scan.ClusterRunners;

/** dtm-spark's entry in {@link ClusterRunners}: "spark". */
public final class SparkRunnerProvider implements ClusterRunners.Provider {
    @Override
    public String name() {
        return "spark";
    }

    @Override
    public CellRunner open(ClusterRunners.Options options) {
        return new SparkCellRunner(options);
    }
}
