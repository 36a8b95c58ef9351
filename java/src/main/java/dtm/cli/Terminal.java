package dtm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Whether stderr is a terminal (so that progress bars make sense there). */
final class Terminal {
    private Terminal() {
    }

    /**
     * True when file descriptor 2 is a terminal. On Linux this reads /proc/self/fd/2 (a
     * terminal device: /dev/pts/N, /dev/ttyN); elsewhere it falls back to whether the JVM has
     * a console (stdin and stdout both terminals).
     */
    static boolean stderrIsTerminal() {
        Path fd = Path.of("/proc/self/fd/2");
        try {
            if (Files.isSymbolicLink(fd)) {
                String target = Files.readSymbolicLink(fd).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty")
                        || target.equals("/dev/console");
            }
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            // fall through
        }
        return System.console() != null;
    }
}
