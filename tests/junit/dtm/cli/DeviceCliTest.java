package dtm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dtm.data.DefaultModel;
import dtm.engine.Device;
import dtm.engine.Engine;
import dtm.errors.UnsupportedFeatureException;
import dtm.model.Model;
import dtm.model.Session;
import dtm.model.SessionOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Devices: the CPU always, a device this build or machine lacks refused in one line (issue 13). */
class DeviceCliTest {
    private static DefaultModel.ModelFiles files;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @BeforeAll
    static void fetch() throws IOException {
        files = DefaultModel.fetch();
    }

    private static boolean hasCuda() {
        return Engine.devices().stream().anyMatch(d -> d.name().startsWith("cuda:"));
    }

    @Test
    void theCpuIsTheFirstDevice() {
        List<Device> devices = Engine.devices();
        Device cpu = devices.get(0);
        assertEquals(Device.CPU, cpu.name());
        assertEquals(Runtime.getRuntime().availableProcessors(), cpu.computeUnits());
        assertTrue(cpu.memoryBytes() > 0, cpu.toString());
        assertTrue(devices.stream().skip(1).allMatch(d -> d.name().matches("cuda:\\d+")), devices.toString());
    }

    @Test
    void aSessionRunsWhereItWasAskedOrIsRefused() throws IOException {
        try (Model model = Model.load(files.model())) {
            try (Session s = model.newSession(SessionOptions.defaults().withThreads(1))) {
                assertEquals("cpu", s.device());
            }
            UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
                    () -> model.newSession(SessionOptions.defaults().withDevice("tpu:0")));
            assertTrue(e.getMessage().contains("\"tpu:0\""), e.getMessage());
        }
    }

    @Test
    void aDeviceThisBuildLacksIsOneLineAndExitOne() {
        if (hasCuda()) {
            return;                                       // on a CUDA build with a GPU, cuda:0 exists
        }
        for (String[] args : new String[][] {
                {"--device", "cuda:0", "generate", "-n", "2", "--model", files.model().toString(), "Once"},
                {"generate", "--device", "cuda:0", "-n", "2", "--model", files.model().toString(), "Once"}}) {
            console.reset();
            assertEquals(Main.EXIT_ERROR, Main.run(args), console.err());
            String err = console.err();
            assertTrue(err.startsWith("dtm: ") && err.contains("\"cuda:0\"")
                    && (err.contains("no CUDA library in this build") || err.contains("the CUDA library does not load")
                        || err.contains("no CUDA device on this machine")),
                    err);
            assertEquals(1, err.lines().count(), err);
            assertEquals("", console.out());
        }
    }

    @Test
    void theCommandsOwnDeviceWinsAndCpuRuns() {
        assertEquals(0, Main.run("--device", "cuda:7", "generate", "--device", "cpu", "-n", "2", "--threads", "2",
                "--model", files.model().toString(), "Once"), console.err());
        assertTrue(console.out().startsWith("Once"), console.out());
    }

    @Test
    void infoListsTheDevices() throws IOException {
        assertEquals(0, Main.run("info", "--model", files.model().toString()), console.err());
        assertTrue(console.out().lines().anyMatch(l -> l.startsWith("device      cpu ")), console.out());
        console.reset();
        assertEquals(0, Main.run("info", "--json", "--model", files.model().toString()), console.err());
        JsonNode devices = new ObjectMapper().readTree(console.out()).get("engine").get("devices");
        assertEquals(Engine.devices().size(), devices.size());
        assertEquals("cpu", devices.get(0).get("name").asText());
    }

    @Test
    void everyCommandThatRunsTheModelTakesDevice() {
        for (String command : new String[] {"generate", "eval", "reference", "perplexity", "scan", "plan", "compress",
                "export"}) {
            assertTrue(Main.commandLine().getSubcommands().get(command).getCommandSpec().findOption("--device") != null,
                    command);
        }
    }
}
