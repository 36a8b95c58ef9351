package dtm.engine;

import dtm.data.DefaultModel;
import dtm.model.Model;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Cleaner warns about handles that were never closed, and only about those. */
class LeakWarningTest {

    @Test
    void anUnclosedModelIsReportedWithWhereItWasCreated() throws Exception {
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger logger = Logger.getLogger("dtm");
        logger.addHandler(capture);
        try {
            closedModel();
            leakedModel(); // deliberately never closed: its native memory stays allocated
            // The Cleaner runs when the collector gets to it: on a loaded machine that can take a
            // while, so wait generously; it normally comes within the first few collections.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (records.isEmpty() && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(20);
            }
            assertEquals(1, records.size(), "exactly the unclosed model is reported");
            LogRecord record = records.get(0);
            assertTrue(record.getMessage().contains("was never closed"), record.getMessage());
            assertTrue(record.getMessage().contains("stories15M.bin"), record.getMessage());
            StackTraceElement[] created = record.getThrown().getStackTrace();
            boolean fromHere = false;
            for (StackTraceElement frame : created) {
                fromHere |= frame.getMethodName().equals("leakedModel");
            }
            assertTrue(fromHere, "the warning carries the stack where the model was created");
        } finally {
            logger.removeHandler(capture);
        }
    }

    private static void closedModel() throws IOException {
        try (Model model = DefaultModel.load()) {
            model.config();
        }
    }

    private static void leakedModel() throws IOException {
        DefaultModel.load().config();
    }
}
