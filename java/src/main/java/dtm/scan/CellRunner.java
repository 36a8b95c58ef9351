package dtm.scan;

import java.util.function.Consumer;

/**
 * Runs the cells a scan still has to run ({@link ScanWork}), layer by layer: {@link #LOCAL} in
 * this process, one cell after another; dtm-spark's runner as Spark tasks, one per layer, on a
 * cluster or in-process ({@link ClusterRunners}). Either way every cell is the same evaluation
 * ({@link LayerCells#run}), so a cell's values do not depend on where it ran (bitwise, for the
 * same backend and threads per session).
 */
public interface CellRunner extends AutoCloseable {
    /** This process: layer by layer, each layer's inputs captured from the previous layer's. */
    CellRunner LOCAL = LocalCellRunner.INSTANCE;

    /**
     * Runs every cell of {@code work}, handing each finished cell to {@code sink} on the calling
     * thread as soon as it is known (the scan writes it to its checkpoint there).
     */
    void run(ScanWork work, Consumer<ScanCell> sink);

    /** Releases what the runner holds (a Spark context); the local runner holds nothing. */
    @Override
    default void close() {}
}
