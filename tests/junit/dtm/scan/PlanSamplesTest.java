package dtm.scan;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Which samples the report shows for a plan ({@link PlanSamples#pick}). */
class PlanSamplesTest {
    private static List<Integer> picked(int[] fdt, int count) {
        return PlanSamples.pick(fdt, count).stream().map(PlanSamples.Pick::sample).toList();
    }

    @Test
    void picksTheEarliestDivergenceTheSampleAtFdt75AndTheMedian() {
        // Sorted: 1 2 3 3 5 7 8 9. FDT_75 of 8 samples is the 6th largest, 3 (first at index 1);
        // the median FDT_50 the 4th largest, 5 (index 0); the earliest divergence is index 5.
        int[] fdt = {5, 3, 9, 3, 7, 1, 8, 2};
        assertEquals(List.of(5, 1, 0), picked(fdt, 3));
        assertEquals(List.of("the earliest divergence", "the sample at FDT_75", "the sample at the median FDT"),
                PlanSamples.pick(fdt, 3).stream().map(PlanSamples.Pick::label).toList());
        assertEquals(List.of(5), picked(fdt, 1));
    }

    @Test
    void aCharacterSplitOverByteTokensIsKeptWhole() {
        byte[] e = {'a', (byte) 0xc3, (byte) 0xa9};           // "aé"
        assertEquals(3, PlanSamples.completeUtf8End(e, 1));
        assertEquals(1, PlanSamples.completeUtf8End(new byte[] {'a', (byte) 0xc3}, 1), "é's second byte missing");
        byte[] euro = {'a', (byte) 0xe2, (byte) 0x82};        // "a" and two of €'s three bytes
        assertEquals(1, PlanSamples.completeUtf8End(euro, 1));
        assertEquals(4, PlanSamples.completeUtf8End(new byte[] {'a', (byte) 0xe2, (byte) 0x82, (byte) 0xac}, 1));
        assertEquals(2, PlanSamples.completeUtf8End(new byte[] {'a', 'b'}, 1));
    }

    @Test
    void samplesPickedTwiceAreReplacedByTheLowestIndicesLeft() {
        assertEquals(List.of(0, 1, 2), picked(new int[] {4, 4, 4, 4}, 3));
        assertEquals(List.of(1, 0), picked(new int[] {4, 2}, 3));
        assertEquals(List.of(), picked(new int[] {4, 2}, 0));
        assertThrows(IllegalArgumentException.class, () -> new TextSample("x", 0, 3, "p", List.of("a", "b"),
                List.of("a", "b")), "an FDT beyond the continuation");
    }
}
