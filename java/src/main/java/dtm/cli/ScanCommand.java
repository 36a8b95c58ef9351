package dtm.cli;

import dtm.model.Model;
import dtm.scan.Int8Search;
import dtm.scan.PlanStudy;
import dtm.scan.PruningSearch;
import picocli.CommandLine.Command;

import java.util.List;

/** {@code dtm scan}: every chosen component alone × every setting, against the base's reference; and the report. */
@Command(name = "scan",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Scan which components tolerate which compression: one cell per component x setting.",
        description = {
                "Each cell compresses one component alone with one setting and evaluates that candidate "
                        + "against the base's reference (FDT, SDT, perplexity of y, ...). The residual stream "
                        + "entering each layer is computed once and every cell of the layer starts there. Each "
                        + "finished cell is appended to a checkpoint in --out, so a killed scan resumes where it "
                        + "stopped, with identical results.",
                "",
                "Writes into --out: report.html (self-contained: heatmaps of FDT_75 per layer x component, FDT "
                        + "and SDT against sparsity, rank by FDT against rank by perplexity), scan.json "
                        + "(schema dtm.scan/1), scan-cells.csv. 'dtm plan' runs the same scan (resuming it) and "
                        + "then the plans.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  dtm scan                                            # default model, 64 prompts",
                "  dtm scan --components 'model.layers.[0-1].*' --settings magnitude:0.5,int8",
                "  dtm scan --settings wanda:0.5,2:4 --count 128 --out wanda-scan",
                "  dtm scan --no-layer-cache --fresh                   # the same cells, every layer recomputed"})
final class ScanCommand extends StudyCommand {
    @Override
    PruningSearch.Schedule pruning() {
        return null;
    }

    @Override
    Int8Search.Options int8(int n) {
        return null;
    }

    @Override
    long seed() {
        return 1;
    }

    @Override
    String perplexityText() {
        return null;
    }

    @Override
    int perplexityWindows() {
        return 0;
    }

    @Override
    List<String> writeExtras(Model base, PlanStudy.Result result) {
        return List.of();
    }
}
