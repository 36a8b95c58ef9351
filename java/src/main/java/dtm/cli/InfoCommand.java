package dtm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dtm.engine.Device;
import dtm.engine.Engine;
import dtm.engine.Isa;
import dtm.model.Component;
import dtm.model.Model;
import dtm.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code dtm info}: the engine and a model's shape and components. */
@Command(name = "info",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Show the engine, the CPU's kernel paths, and a model's shape and components.",
        description = {"Components are the weight matrices that compression works on, named as "
                + "Hugging Face names them.", ""})
final class InfoCommand implements Callable<Integer> {

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @Mixin
    ModelSelection modelSelection;

    @Mixin
    CandidateSelection candidateSelection;

    @Mixin
    PromptOptions promptOptions;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() throws IOException {
        PrintStream out = System.out;
        try (Model base = modelSelection.load();
             Model model = candidateSelection.open(base, promptOptions, dtm.model.SessionOptions.defaults(),
                     modelSelection.finiteCheck)) {
            if (json) {
                Map<String, Object> engine = new LinkedHashMap<>();
                engine.put("version", Engine.version());
                engine.put("bestIsa", Engine.bestIsa().cliName());
                List<String> supported = new ArrayList<>();
                for (Isa isa : Isa.values()) {
                    if (isa != Isa.AUTO && Engine.supports(isa)) {
                        supported.add(isa.cliName());
                    }
                }
                engine.put("supportedIsas", supported);
                engine.put("devices", Engine.devices());
                Map<String, Object> root = new LinkedHashMap<>();
                root.put("engine", engine);
                root.put("model", model.path().toString());
                root.put("config", model.config());
                root.put("components", model.components());
                out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(root));
                return 0;
            }
            ModelConfig c = model.config();
            out.printf("engine      %s (best kernel path: %s)%n", Engine.version(), Engine.bestIsa());
            for (Device d : Engine.devices()) {
                out.printf("device      %-8s %s%s%n", d.name(), d.description(), d.memoryBytes() > 0
                        ? String.format(Locale.ROOT, ", %.1f GiB", d.memoryBytes() / (double) (1L << 30)) : "");
            }
            out.printf("model       %s%n", model.path());
            out.printf("shape       dim %d, hidden %d, %d layers, %d heads (%d kv), head dim %d%n",
                    c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(), c.headDim());
            out.printf("vocabulary  %d tokens (BOS %d, EOS %d), context %d%n",
                    c.vocabSize(), c.bosId(), c.eosId(), c.maxSeqLen());
            out.printf("parameters  %,d (%s classifier)%n", c.parameters(),
                    c.sharedClassifier() ? "shared" : "separate");
            if (candidateSelection.compresses() || candidateSelection.candidate != null) {
                out.printf("candidate   %s%n", candidateSelection.describe(base));
            }
            out.printf("%ncomponents (%d):%n", model.components().size());
            out.printf("  %-36s %15s %12s  %-12s %8s %12s%n", "name", "shape", "weights", "format", "sparsity",
                    "bytes");
            for (Component comp : model.components()) {
                out.printf("  %-36s %6d x %-6d %,12d  %-12s %7.2f%% %,12d%n", comp.name(), comp.rows(), comp.cols(),
                        comp.parameterCount(), comp.format().label(), 100 * comp.sparsity(), comp.storageBytes());
            }
            out.printf("  %-36s %15s %12s  %-12s %8s %,12d%n", "total (a tied head counted once)", "", "", "", "",
                    model.storageBytes());
        }
        return 0;
    }
}
