package dtm.engine;

import org.bytedeco.javacpp.Pointer;

import java.lang.ref.Cleaner;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Owns one native handle (a model, a session) and frees it on {@link #close()}.
 *
 * <ul>
 *   <li>{@code close()} is idempotent; any use after it throws {@link IllegalStateException}.
 *   <li>A {@link Sharing#SHARED} handle (a model) may be used by many threads at once; close
 *       waits for uses in progress to finish. A {@link Sharing#ONE_THREAD} handle (a session)
 *       is used by one thread at a time: a second thread that tries gets an
 *       {@link IllegalStateException} rather than a corrupted native state.
 *   <li>Dependents (a session needs its model) {@link #retain()} the handle; closing it then
 *       makes it unusable at once but frees the native object only when the last dependent has
 *       {@link #release() released} it.
 *   <li>A {@link Cleaner} only <em>warns</em>, through {@code System.Logger} "dtm" with the
 *       stack where the handle was created, about a handle that became unreachable without
 *       being closed. It does not free anything: native memory is released by {@code close()}
 *       alone, at a time the program chooses.
 * </ul>
 *
 * @param <P> the JavaCPP type of the handle
 */
public abstract class NativeHandle<P extends Pointer> implements AutoCloseable {

    /** Who may use a handle at the same time. */
    public enum Sharing {
        /** Any number of threads at once (immutable native object). */
        SHARED,
        /** One thread at a time (native scratch state). */
        ONE_THREAD
    }

    private static final Cleaner CLEANER = Cleaner.create(runnable -> {
        Thread thread = new Thread(runnable, "dtm-leak-check");
        thread.setDaemon(true);
        return thread;
    });

    private final String description;
    private final Sharing sharing;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final AtomicInteger dependents = new AtomicInteger();
    private final LeakCheck leakCheck;
    private final Cleaner.Cleanable cleanable;
    private P pointer; // null once freed; guarded by lock
    private volatile boolean closed;

    /**
     * @param pointer     the handle, not null; this object owns it from now on
     * @param description what it is, for messages, e.g. "model /m/stories15M.bin"
     */
    protected NativeHandle(P pointer, String description, Sharing sharing) {
        Objects.requireNonNull(pointer, "pointer");
        if (pointer.isNull()) {
            throw new IllegalArgumentException("null native handle for " + description);
        }
        this.pointer = pointer;
        this.description = Objects.requireNonNull(description, "description");
        this.sharing = Objects.requireNonNull(sharing, "sharing");
        this.leakCheck = new LeakCheck(description, new Throwable("created here"));
        this.cleanable = CLEANER.register(this, leakCheck);
    }

    /** Frees the native object. Called exactly once, with the handle's lock held. */
    protected abstract void free(P pointer);

    /** What this handle is, for messages. */
    public final String description() {
        return description;
    }

    /** Whether {@link #close()} has been called. */
    public final boolean isClosed() {
        return closed;
    }

    /**
     * Runs {@code action} on the open handle.
     *
     * @throws IllegalStateException when closed, or (one-thread handles) in use by another thread
     */
    protected final <T> T call(Function<P, T> action) {
        Lock held = enter();
        try {
            return action.apply(pointer);
        } finally {
            held.unlock();
        }
    }

    /** {@link #call} without a result. */
    protected final void run(Consumer<P> action) {
        Lock held = enter();
        try {
            action.accept(pointer);
        } finally {
            held.unlock();
        }
    }

    /**
     * Registers a dependent that needs the native object until it calls {@link #release()}.
     *
     * @throws IllegalStateException when closed
     */
    protected final void retain() {
        Lock held = enter();
        try {
            dependents.incrementAndGet();
        } finally {
            held.unlock();
        }
    }

    /** A dependent is done; frees the native object if it was the last one after close. */
    protected final void release() {
        lock.writeLock().lock();
        try {
            if (dependents.decrementAndGet() == 0 && closed) {
                freeNow();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Frees the native object (or, while dependents remain, makes this handle unusable and
     * leaves the freeing to the last of them). Idempotent.
     *
     * @throws IllegalStateException when a one-thread handle is in use by another thread
     */
    @Override
    public final void close() {
        Lock write = lock.writeLock();
        if (sharing == Sharing.ONE_THREAD) {
            if (!write.tryLock()) {
                throw inUseElsewhere();
            }
        } else {
            write.lock();
        }
        try {
            if (closed) {
                return;
            }
            closed = true;
            leakCheck.closed = true;
            cleanable.clean();
            if (dependents.get() == 0) {
                freeNow();
            }
        } finally {
            write.unlock();
        }
    }

    @Override
    public String toString() {
        return description + (closed ? " (closed)" : "");
    }

    private void freeNow() {
        P p = pointer;
        pointer = null;
        if (p != null) {
            free(p);
        }
    }

    private Lock enter() {
        Lock held;
        if (sharing == Sharing.SHARED) {
            held = lock.readLock();
            held.lock();
        } else {
            held = lock.writeLock();
            if (!held.tryLock()) {
                throw inUseElsewhere();
            }
        }
        if (closed) {
            held.unlock();
            throw new IllegalStateException(description + " is closed");
        }
        return held;
    }

    private IllegalStateException inUseElsewhere() {
        return new IllegalStateException(description
                + " is in use by another thread; a session belongs to one thread at a time");
    }

    /** The Cleaner's action: warns about a handle that was never closed. Holds no reference to it. */
    private static final class LeakCheck implements Runnable {
        private final String description;
        private final Throwable creation;
        volatile boolean closed;

        LeakCheck(String description, Throwable creation) {
            this.description = description;
            this.creation = creation;
        }

        @Override
        public void run() {
            if (!closed) {
                System.getLogger("dtm").log(System.Logger.Level.WARNING,
                        description + " was never closed: its native memory stays allocated until"
                                + " the process exits. Close it (try-with-resources). It was created",
                        creation);
            }
        }
    }
}
