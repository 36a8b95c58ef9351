package dtm.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * dtm plan --spark-master local[2] on the default model (issue 16): the same cells and the same
 * plan files as dtm plan in this process, and the report says where the cells ran. (The runner
 * itself: dtm.spark.SparkScanTest.)
 */
class SparkCliTest {
    private static final String[] SMALL = {"--components", "model.layers.[2-3].mlp.down_proj",
            "--settings", "magnitude:0.2,int8", "--count", "6", "--prompt-tokens", "16", "-n", "16",
            "--threads", "1", "--no-progress", "--sparsity", "0.2", "--steps", "2", "--fdt-threshold", "12", "--ppl-windows", "1"};

    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    private void plan(Path out, String... more) {
        console.reset();
        String[] args = Stream.concat(Stream.of("plan", "--out", out.toString()),
                Stream.concat(Stream.of(SMALL), Stream.of(more))).toArray(String[]::new);
        assertEquals(0, Main.run(args), console.err());
    }

    /** The CSV of cells without the last column (each cell's own seconds). */
    private static List<String> untimedCells(Path dir) throws IOException {
        return Files.readAllLines(dir.resolve("scan-cells.csv")).stream()
                .map(l -> l.substring(0, l.lastIndexOf(','))).toList();
    }

    private static List<Path> plans(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("plan-")).sorted().toList();
        }
    }

    @Test
    void planOnLocalTwoWritesTheFilesOfPlanInThisProcess() throws IOException {
        Path here = tmp.resolve("here");
        Path spark = tmp.resolve("spark");
        plan(here);
        plan(spark, "--spark-master", "local[2]");
        assertEquals(untimedCells(here), untimedCells(spark));
        List<Path> herePlans = plans(here);
        assertFalse(herePlans.isEmpty(), "dtm plan wrote no plan files");
        assertEquals(herePlans.stream().map(Path::getFileName).toList(),
                plans(spark).stream().map(Path::getFileName).toList());
        for (Path p : herePlans) {
            assertEquals(Files.readString(p), Files.readString(spark.resolve(p.getFileName())), p.getFileName() + "");
        }
        String json = Files.readString(spark.resolve("scan.json"));
        assertTrue(json.contains("on Apache Spark, master local[2,4]"), "scan.json says where the cells ran");
    }
}
