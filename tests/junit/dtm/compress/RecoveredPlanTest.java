package dtm.compress;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.model.Compression;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A plan with trained weights ("recovered"): its file names the weights relative to itself, so
 * the report directory can move; reading it back gives the same plan; a bad record is refused.
 */
class RecoveredPlanTest {
    @TempDir
    Path dir;

    @Test
    void theWeightsPathIsRelativeToThePlanFileAndReadsBackAbsolute() throws IOException {
        ObjectNode training = new ObjectMapper().createObjectNode();
        training.put("tokensPerStep", 4096);
        training.put("firstLoss", Double.NaN);  // non-finite numbers become null, as everywhere
        Path weights = dir.resolve("recovery").resolve("fdt-guided-step2.safetensors");
        Plan plan = new Plan("trained", List.of(new Plan.Entry("model.layers.*", Compression.magnitude(0.5))))
                .withBase("0123456789abcdef").withRecovered(new Plan.Recovered(weights, training));
        Path file = dir.resolve("plan.json");
        plan.write(file);
        String json = Files.readString(file);
        assertTrue(json.contains("\"weights\" : \"recovery/fdt-guided-step2.safetensors\""), json);
        assertTrue(json.contains("\"schema\" : \"dtm.plan/2\""), json);
        Plan back = Plan.read(file);
        assertEquals(weights, back.recovered().weights());
        assertEquals(4096, back.recovered().training().path("tokensPerStep").asInt());
        assertTrue(back.recovered().training().get("firstLoss").isNull());
        assertEquals(plan.entries(), back.entries());
        assertEquals("0123456789abcdef", back.base());
        // Moved with its weights, the plan still finds them.
        Path moved = Files.createDirectories(dir.resolve("moved"));
        Files.move(file, moved.resolve("plan.json"));
        assertEquals(moved.resolve("recovery/fdt-guided-step2.safetensors"),
                Plan.read(moved.resolve("plan.json")).recovered().weights());
        // withBase keeps the weights; a plan without them has none.
        assertEquals(weights, plan.withBase("fedcba9876543210").recovered().weights());
        assertNull(Plan.fromJson(new Plan("", List.of()).toJson()).recovered());
    }

    @Test
    void aPlanWrittenWithARelativePathReadsBack() throws IOException {
        Path out = Path.of("").toAbsolutePath().relativize(dir.resolve("out"));  // as --out dtm-report gives it
        Plan plan = new Plan("trained", List.of()).withRecovered(
                new Plan.Recovered(out.resolve("recovery/x.safetensors"), null));
        Path file = out.resolve("plan.json");
        Files.createDirectories(out);
        plan.write(file);
        assertTrue(Files.readString(file).contains("\"weights\" : \"recovery/x.safetensors\""), Files.readString(file));
        assertEquals(dir.resolve("out/recovery/x.safetensors"), Plan.read(file).recovered().weights());
    }

    @Test
    void aRecoveredRecordWithoutWeightsOrUnderTheOldSchemaIsRefused() {
        String json = "{\"schema\": \"dtm.plan/2\", \"components\": [], \"recovered\": {\"training\": {}}}";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Plan.fromJson(json));
        assertTrue(e.getMessage().contains("weights"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Plan.fromJson("{\"schema\": \"dtm.plan/2\", \"components\": [], \"recovered\": 3}"));
        // Trained weights need schema 2 (an older reader would miss them), and schema 2 needs them.
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson(
                "{\"schema\": \"dtm.plan/1\", \"components\": [], \"recovered\": {\"weights\": \"w\"}}"));
        assertThrows(IllegalArgumentException.class,
                () -> Plan.fromJson("{\"schema\": \"dtm.plan/2\", \"components\": []}"));
    }
}
