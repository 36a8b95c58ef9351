package dtm.scan;

import dtm.model.ComponentKind;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ranks of components by FDT_75 and by perplexity, and Kendall's τ_b, on hand-made examples. */
class RankAgreementTest {
    private static ScanResult scan(int[] fdt, double[] ppl, String setting) {
        ComponentKind[] kinds = {ComponentKind.Q_PROJ, ComponentKind.K_PROJ, ComponentKind.V_PROJ, ComponentKind.O_PROJ};
        List<ScanCell> cells = new java.util.ArrayList<>();
        for (int i = 0; i < fdt.length; i++) {
            cells.add(SyntheticScans.cell(kinds[i], 0, 100, setting, fdt[i], fdt[i], 0, ppl[i], 100));
        }
        return new ScanResult("base", "ref", 100, List.of(setting), cells, 1);
    }

    @Test
    void tauBWithATieInFdt() {
        // FDT_75 100, 80, 80, 40; perplexity 2.0, 2.5, 2.2, 3.0.
        // Pairs (x = FDT, y = −perplexity): (1,2) C, (1,3) C, (1,4) C, (2,3) tied in x, (2,4) C, (3,4) C.
        // n0 = 6, ties in x n1 = 1, in y n2 = 0: τ_b = (5 − 0)/√((6 − 1)(6 − 0)) = 5/√30.
        RankAgreement r = RankAgreement.of(scan(new int[] {100, 80, 80, 40}, new double[] {2.0, 2.5, 2.2, 3.0},
                "magnitude:0.5"), "magnitude:0.5");
        assertEquals(5 / Math.sqrt(30), r.kendallTauB(), 1e-12);
        assertEquals(List.of(1.0, 2.5, 2.5, 4.0), r.fdtRanks());
        assertEquals(List.of(1.0, 3.0, 2.0, 4.0), r.perplexityRanks());
        assertEquals(4, r.components().size());
    }

    @Test
    void tauBOfReversedOrdersIsMinusOne() {
        // FDT 90 > 60 > 30 while perplexity 2 < 3 < 4 would agree; here perplexity falls as FDT falls.
        RankAgreement r = RankAgreement.of(scan(new int[] {90, 60, 30}, new double[] {4, 3, 2}, "int8"), "int8");
        assertEquals(-1, r.kendallTauB(), 1e-12);
        RankAgreement same = RankAgreement.of(scan(new int[] {90, 60, 30}, new double[] {2, 3, 4}, "int8"), "int8");
        assertEquals(1, same.kendallTauB(), 1e-12);
    }

    @Test
    void tauBIsUndefinedWhenEveryFdtIsTheSame() {
        RankAgreement r = RankAgreement.of(scan(new int[] {100, 100, 100}, new double[] {2, 3, 4}, "int8"), "int8");
        assertTrue(Double.isNaN(r.kendallTauB()), "τ_b = " + r.kendallTauB());
        assertEquals(List.of(2.0, 2.0, 2.0), r.fdtRanks());
    }
}
