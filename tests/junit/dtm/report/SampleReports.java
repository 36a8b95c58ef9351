package dtm.report;

import dtm.model.ComponentKind;
import dtm.scan.Headline;
import dtm.scan.PlanComponent;
import dtm.scan.PlanOutcome;
import dtm.scan.PruningSearch;
import dtm.scan.ScanCell;
import dtm.scan.ScanResult;
import dtm.scan.SyntheticScans;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A made-up scan of a 6-layer model (7 matrices per layer and the head) with four settings, and
 * three plan outcomes, for the report tests. FDT falls with sparsity, faster in later layers and
 * for the MLP's down projection; perplexity rises as FDT falls, not quite in the same order.
 */
final class SampleReports {
    static final int N = 100;
    static final int LAYERS = 6;
    static final List<String> SETTINGS = List.of("magnitude:0.5", "magnitude:0.9", "wanda:0.5", "int8");
    static final List<ComponentKind> KINDS = List.of(ComponentKind.Q_PROJ, ComponentKind.K_PROJ, ComponentKind.V_PROJ,
            ComponentKind.O_PROJ, ComponentKind.GATE_PROJ, ComponentKind.UP_PROJ, ComponentKind.DOWN_PROJ);

    private SampleReports() {}

    static ScanResult scan() {
        List<ScanCell> cells = new ArrayList<>();
        for (int layer = -1; layer < LAYERS; layer++) {
            List<ComponentKind> kinds = layer < 0 ? List.of(ComponentKind.LM_HEAD) : KINDS;
            for (ComponentKind kind : kinds) {
                long parameters = kind.ordinal() >= ComponentKind.GATE_PROJ.ordinal() ? 221_184 : 82_944;
                for (String setting : SETTINGS) {
                    double harm = switch (setting) {
                        case "magnitude:0.5" -> 0.3;
                        case "magnitude:0.9" -> 0.9;
                        case "wanda:0.5" -> 0.2;
                        default -> 0.05;
                    };
                    double weakness = (layer < 0 ? 1.5 : 0.5 + 0.1 * layer) * (kind == ComponentKind.DOWN_PROJ ? 1.6
                            : 1.0 + 0.05 * kind.ordinal());
                    int fdt75 = (int) Math.max(0, Math.round(N * (1 - harm * weakness)));
                    double fdtMean = Math.min(N, fdt75 + 6);
                    double sdtMean = (N - fdt75) * 0.4;
                    double perplexity = 2.0 + 0.02 * (N - fdt75) + 0.05 * ((kind.ordinal() * 7 + layer) % 5);
                    cells.add(SyntheticScans.cell(kind, layer, parameters, setting, fdt75, fdtMean, sdtMean,
                            perplexity, N));
                }
            }
        }
        return new ScanResult("stories15M.bin (cd590644d963)", "24 prompts, N = 100", N, SETTINGS, cells, 321.5);
    }

    static List<PlanOutcome> outcomes(ScanResult scan) {
        List<PlanComponent> components = PlanComponent.of(scan);
        return List.of(
                new PlanOutcome("FDT-guided", PruningSearch.uniform(components, 0.5), 0.5, 0,
                        new Headline(0.25, 0.5, 0), 71, 80.5, 9.5, 2.31, 6.9,
                        30_000_000L),
                new PlanOutcome("uniform magnitude", PruningSearch.uniform(components, 0.5), 0.5, 0,
                        new Headline(0, 0, 0), 40, 55.0, 21.0,
                        2.62, 7.4, 30_000_000L),
                new PlanOutcome("perplexity-guided", PruningSearch.uniform(components, 0.5), 0.5, 0,
                        new Headline(0.125, 0, 0), 52, 63.2, 15.1,
                        2.29, 7.0, 30_000_000L));
    }

    static ReportInput input() {
        ScanResult scan = scan();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("command", "dtm scan --report out/");
        meta.put("note", "synthetic data <for tests> & \"quotes\"");
        return new ReportInput("dtm scan report (synthetic)", scan, outcomes(scan), 60_816_028L, meta);
    }
}
