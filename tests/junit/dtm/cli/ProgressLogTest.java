package dtm.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Progress on a stderr that is no terminal: a line per stage and about every 10 s, with ETA. */
class ProgressLogTest {
    private long now;

    private static final long SECOND = 1_000_000_000L;

    @Test
    void printsAStartLineALineEveryTenSecondsAndAnEndLine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressLog log = new ProgressLog(new PrintStream(bytes, true, StandardCharsets.UTF_8), () -> now);
        log.update("reference", 0, 64);
        now = 4 * SECOND;
        log.update("reference", 5, 64);            // under 10 s since the last line: silent
        now = 10 * SECOND;
        log.update("reference", 16, 64);
        now = 15 * SECOND;
        log.update("reference", 20, 64);
        now = 21 * SECOND;
        log.update("reference", 32, 64);
        now = 150 * SECOND;
        log.update("reference", 64, 64);
        log.update("scan", 0, 3);
        now = 151 * SECOND;
        log.update("scan", 3, 3);
        assertEquals(List.of(
                "dtm: reference: 0/64",
                "dtm: reference: 16/64 (25.0 %), elapsed 10s, ETA 30s",
                "dtm: reference: 32/64 (50.0 %), elapsed 21s, ETA 21s",
                "dtm: reference: 64/64 done in 2m30s",
                "dtm: scan: 0/3",
                "dtm: scan: 3/3 done in 1s"), bytes.toString(StandardCharsets.UTF_8).lines().toList());
    }

    @Test
    void durationsReadAsSecondsMinutesHours() {
        assertEquals("0s", ProgressLog.duration(0));
        assertEquals("59s", ProgressLog.duration(59 * SECOND));
        assertEquals("1m00s", ProgressLog.duration(60 * SECOND));
        assertEquals("1h01m", ProgressLog.duration(3660 * SECOND));
    }

    @Test
    void noProgressPrintsNothing() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ProgressDisplay off = new ProgressDisplay(new PrintStream(bytes, true, StandardCharsets.UTF_8),
                ProgressDisplay.Mode.OFF)) {
            off.update("reference", 0, 2);
            off.update("reference", 2, 2);
        }
        assertEquals("", bytes.toString(StandardCharsets.UTF_8));
    }
}
