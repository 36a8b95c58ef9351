package dtm.engine;

import org.bytedeco.javacpp.BytePointer;

import java.nio.charset.StandardCharsets;

/**
 * UTF-8 text in native memory. For dtm's own packages. The engine takes text as bytes plus a
 * length; the buffer is NUL-terminated as well, and never a null pointer even when empty.
 */
public final class NativeText {
    private NativeText() {
    }

    /** A new native copy of {@code bytes}, NUL-terminated; close it after the call. */
    public static BytePointer of(byte[] bytes) {
        BytePointer p = new BytePointer(bytes.length + 1L);
        p.put(bytes, 0, bytes.length);
        p.put(bytes.length, (byte) 0);
        return p;
    }

    /** A new native UTF-8 copy of {@code text}, NUL-terminated; close it after the call. */
    public static BytePointer of(String text) {
        return of(text.getBytes(StandardCharsets.UTF_8));
    }
}
