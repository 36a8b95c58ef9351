package dtm.scan;

import java.util.List;
import java.util.function.Consumer;

/**
 * Runs the evaluations of a scan and of the plan searches: {@link #LOCAL} in this process, one
 * after another; dtm-spark's runner as Spark tasks on a cluster or in-process
 * ({@link ClusterRunners}). Either way every evaluation is the same ({@link LayerCells#run},
 * {@link PlanScores#measure}), so its values do not depend on where it ran (bitwise, for the
 * same backend and threads per session).
 */
public interface CellRunner extends AutoCloseable {
    /** This process: layer by layer, each layer's inputs captured from the previous layer's. */
    CellRunner LOCAL = LocalCellRunner.INSTANCE;

    /**
     * Runs every cell of {@code work}, handing each finished cell to {@code sink} on the calling
     * thread as soon as it is known (the scan writes it to its checkpoint there).
     *
     * @throws CellFailedException a cell the engine refused (the same on every attempt)
     */
    void run(ScanWork work, Consumer<ScanCell> sink);

    /** Evaluates every plan of {@code work}; the scores in the order of its plans. */
    List<PlanScores> evaluate(PlanWork work);

    /** How many evaluations this runner runs at once (the local runner: 1; Spark: its task slots). */
    default int slots() {
        return 1;
    }

    /** Releases what the runner holds (a Spark context); the local runner holds nothing. */
    @Override
    default void close() {}
}
