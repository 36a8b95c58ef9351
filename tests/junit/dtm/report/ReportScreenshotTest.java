package dtm.report;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Renders the synthetic report in headless Chromium (Debian's {@code chromium}, installed by
 * scripts/setup-build-deps) and checks the screenshot shows the charts: the heatmaps' colours
 * are on it and it is far from blank. Skipped (an assumption) only when Chromium is absent.
 *
 * <p>The build keeps the page and its screenshot for people to look at:
 * {@code tests/target/report-sample/report.html} and {@code tests/target/report-screenshot.png}.
 */
class ReportScreenshotTest {
    /** Where the screenshot is kept, relative to the tests module (Surefire's working directory). */
    static final Path SCREENSHOT = Path.of("target", "report-screenshot.png");
    static final Path SAMPLE = Path.of("target", "report-sample");

    private static String chromium() {
        for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        return null;
    }

    @Test
    void chromiumRendersTheChartsOfTheReport() throws IOException, InterruptedException {
        String chromium = chromium();
        assumeTrue(chromium != null, "Chromium is not installed (scripts/setup-build-deps installs Debian's chromium)");
        ReportFiles files = ReportWriter.write(SAMPLE, SampleReports.input());
        Path png = SCREENSHOT.toAbsolutePath();
        Files.deleteIfExists(png);
        Path log = Path.of("target", "report-screenshot.log").toAbsolutePath();
        Path profile = Files.createTempDirectory("dtm-chromium");
        List<String> command = new ArrayList<>(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run", "--user-data-dir=" + profile,
                "--window-size=1400,4000", "--screenshot=" + png, files.html().toUri().toString()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(180, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        assertTrue(done, "Chromium did not finish; its output is in " + log);
        assertEquals(0, p.exitValue(), "Chromium failed; its output is in " + log);
        assertTrue(Files.size(png) > 10_000, "screenshot " + png + " is " + Files.size(png) + " bytes");

        BufferedImage image = ImageIO.read(new File(png.toString()));
        assertEquals(1400, image.getWidth());
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                colours.add(image.getRGB(x, y) & 0xffffff);
            }
        }
        assertTrue(colours.size() > 50, "only " + colours.size() + " colours: the page looks blank");
        // The heatmaps fill their squares with the colours of the FDT scale: several must show.
        int shown = 0;
        for (int b = 0; b < 10; b++) {
            Color c = ScanCharts.colourAt((b + 0.5) / 10);
            if (colours.contains(c.getRGB() & 0xffffff)) {
                shown++;
            }
        }
        assertTrue(shown >= 3, "only " + shown + " of the heatmap's colours are on the screenshot");
    }
}
