package dtm.compress;

import dtm.model.Compression;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The text form of compressions and the JSON form of plans: round trips and rejections. */
class CompressionPlanTest {

    @Test
    void everyTextFormRoundTrips() {
        for (String text : List.of("magnitude:0.5", "wanda:0.25", "2:4", "1:8", "int8", "int8-outlier:6.0",
                "int8-weight", "q8_0", "q4_0")) {
            Compression c = Compression.parse(text);
            assertEquals(text, c.toString());
            assertEquals(c, Compression.parse(c.toString()));
        }
        assertEquals(Compression.int8Outlier(6.0), Compression.parse("int8-outlier"));
        assertEquals(0.5, Compression.parse("2:4").sparsity());
        assertTrue(Compression.parse("wanda:0.1").kind().isPruning());
        assertFalse(Compression.parse("q4_0").kind().isPruning());
    }

    @Test
    void badTextFormsAreRejectedWithTheFormsThatExist() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Compression.parse("int4"));
        assertTrue(e.getMessage().contains("magnitude:S"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Compression.parse("magnitude:1.5"));
        assertThrows(IllegalArgumentException.class, () -> Compression.parse("magnitude:-0.1"));
        assertThrows(IllegalArgumentException.class, () -> Compression.parse("magnitude:NaN"));
        assertThrows(IllegalArgumentException.class, () -> Compression.parse("magnitude"));
        assertThrows(IllegalArgumentException.class, () -> Compression.parse("magnitude:x"));
        assertThrows(IllegalArgumentException.class, () -> Compression.parse("5:4"));
        assertThrows(IllegalArgumentException.class, () -> Compression.parse("int8:3"));
        assertThrows(IllegalArgumentException.class, () -> Compression.parse("int8-outlier:-1"));
    }

    @Test
    void plansRoundTripThroughJsonWithListsAndEvidence() {
        String json = """
                {"schema": "dtm.plan/1", "description": "test",
                 "components": [
                   {"match": "model.layers.*", "compression": "int8"},
                   {"match": "*.mlp.down_proj", "compression": ["magnitude:0.5", "int8-outlier"],
                    "evidence": {"fdt75": 93}}]}""";
        Plan plan = Plan.fromJson(json);
        assertEquals("test", plan.description());
        assertEquals(2, plan.entries().size());
        assertEquals(List.of(Compression.magnitude(0.5), Compression.int8Outlier(6.0)),
                plan.entries().get(1).compressions());
        assertEquals(93, plan.entries().get(1).evidence().path("fdt75").asInt());
        assertEquals(plan, Plan.fromJson(plan.toJson()));
        assertFalse(plan.needsCalibration());
        assertTrue(Plan.of("*", Compression.wanda(0.5)).needsCalibration());
    }

    @Test
    void foreignOrBrokenPlansAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson("[]"));
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson("{\"components\": []}"));
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson("{\"schema\": \"dtm.plan/9\"}"));
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson("{\"schema\": \"dtm.plan/1\"}"));
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson(
                "{\"schema\": \"dtm.plan/1\", \"components\": [{\"compression\": \"int8\"}]}"));
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson(
                "{\"schema\": \"dtm.plan/1\", \"components\": [{\"match\": \"*\", \"compression\": 8}]}"));
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson(
                "{\"schema\": \"dtm.plan/1\", \"components\": [{\"match\": \"*\", \"compression\": \"int3\"}]}"));
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson("{not json"));
    }
}
