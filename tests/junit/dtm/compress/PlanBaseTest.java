package dtm.compress;

import dtm.data.DefaultModel;
import dtm.model.Compression;
import dtm.model.Model;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A plan names the base it was made for by fingerprint and is refused on any other model. */
class PlanBaseTest {
    @Test
    void theBaseRoundTripsThroughJsonAndAHandWrittenPlanHasNone() {
        Plan plan = new Plan("d", List.of(new Plan.Entry("model.layers.*", Compression.int8())));
        assertNull(Plan.fromJson(plan.toJson()).base());
        assertFalse(plan.toJson().contains("\"base\""));
        Plan based = plan.withBase("00112233aabbccdd");
        assertEquals("00112233aabbccdd", Plan.fromJson(based.toJson()).base());
        assertEquals(plan.entries(), Plan.fromJson(based.toJson()).entries());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plan.withBase("cd59"));
        assertTrue(e.getMessage().contains("16 hex digits, got 'cd59'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson(
                "{\"schema\": \"dtm.plan/1\", \"base\": 7, \"components\": []}"));
    }

    @Test
    void checkBaseTakesTheSameContentAndRefusesOtherContent() throws IOException {
        try (Model base = DefaultModel.load();
             Model candidate = base.compress(0, Compression.int8())) {
            String fingerprint = base.fingerprint();
            assertTrue(fingerprint.matches("[0-9a-f]{16}"), fingerprint);
            assertEquals(fingerprint, base.fingerprint());
            Plan plan = Plan.of("model.layers.*", Compression.int8()).withBase(fingerprint);
            assertDoesNotThrow(() -> plan.checkBase(base, "p.json"));
            assertFalse(fingerprint.equals(candidate.fingerprint()), "other weights, another fingerprint");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> plan.checkBase(candidate, "p.json"));
            assertEquals("p.json was made for the base with fingerprint " + fingerprint + ", not for stories15M.bin "
                    + "(fingerprint " + candidate.fingerprint() + ")", e.getMessage());
            assertDoesNotThrow(() -> Plan.of("*", Compression.int8()).checkBase(candidate, "unbased.json"));
        }
    }
}
