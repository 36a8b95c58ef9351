package dtm.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every command's --help prints its usage and nothing else: no picocli warning, no error. */
class HelpCliTest {
    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    /** The command paths of dtm and all its subcommands, e.g. [], [plan], [scan]. */
    private static List<List<String>> commandPaths(CommandLine command, List<String> prefix) {
        List<List<String>> paths = new ArrayList<>();
        paths.add(prefix);
        for (var entry : command.getSubcommands().entrySet()) {
            if (entry.getKey().equals("help")) {
                continue;
            }
            List<String> path = new ArrayList<>(prefix);
            path.add(entry.getKey());
            paths.addAll(commandPaths(entry.getValue(), path));
        }
        return paths;
    }

    @Test
    void noCommandsHelpWritesAWarning() {
        List<List<String>> paths = commandPaths(Main.commandLine(), List.of());
        assertTrue(paths.size() > 8, "expected every command, found " + paths);
        for (List<String> path : paths) {
            console.reset();
            List<String> args = new ArrayList<>(path);
            args.add("--help");
            int code = Main.run(args.toArray(String[]::new));
            String shown = "dtm " + String.join(" ", args);
            assertEquals(0, code, shown + ": " + console.err());
            assertFalse(console.err().contains("WARN"), shown + " warned: " + console.err());
            assertEquals("", console.err(), shown + " wrote on stderr");
            assertTrue(console.out().contains("Usage: dtm"), shown + ": " + console.out());
        }
    }

    @Test
    void theFdtThresholdDefaultIsShownAsAPercentage() {
        assertEquals(0, Main.run("plan", "--help"));
        assertTrue(console.out().contains("90 % of N"), console.out());
    }
}
