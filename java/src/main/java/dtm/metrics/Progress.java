package dtm.metrics;

/**
 * Hears how long work advances, e.g. to draw a progress bar. Called on the working thread,
 * with {@code done = 0} when a task starts and {@code done = total} when it ends.
 */
@FunctionalInterface
public interface Progress {

    /** Hears nothing. */
    Progress NONE = (task, done, total) -> {
    };

    /**
     * @param task  what is being done, e.g. "reference" or "evaluate"
     * @param done  units finished (samples, windows)
     * @param total units in all
     */
    void update(String task, long done, long total);

    /**
     * A short status of the running {@code task} shown beside its progress (e.g. recovery
     * training's loss), replacing the last one; by default not shown.
     */
    default void message(String task, String text) {
    }
}
