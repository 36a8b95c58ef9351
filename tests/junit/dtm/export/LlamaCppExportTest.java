package dtm.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.TokenPrompts;
import de.kherud.llama.args.CacheType;
import de.kherud.llama.args.LogFormat;
import dtm.compress.Plan;
import dtm.data.DefaultModel;
import dtm.data.DefaultTexts;
import dtm.metrics.PerplexityResult;
import dtm.metrics.RunOptions;
import dtm.metrics.TextPerplexity;
import dtm.model.Compression;
import dtm.model.Model;
import dtm.model.SessionOptions;
import dtm.model.Session;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The GGUF export of the default model, loaded by an independent consumer: llama.cpp (build
 * b4916) as its Java binding de.kherud:llama 4.2.0 ships it.
 *
 * <p>Greedy text and tokenization go through the binding's API. Perplexity cannot: the binding
 * gives no logits, and its per-token probabilities (n_probs > 0) abort the JVM (its JNI code reads
 * a "probs" member that the llama.cpp server code it embeds no longer writes). llama.cpp's logits
 * come instead from llama.cpp's own C API in the same native library, run by
 * tests/cpp/llama_cpp_perplexity (built with the C++ tests) in a child process.
 */
class LlamaCppExportTest {
    private static final int THREADS = 2;
    /** llama.cpp's threads: one, as its OpenMP workers spin and lose most of their time on a shared machine. */
    private static final int LLAMA_THREADS = 1;
    private static final int N = 100;
    private static final int PPL_WINDOWS = 16;

    @TempDir
    static Path dir;

    private static Model base;
    private static Path fp32Gguf;
    private static LlamaModel llama;

    @BeforeAll
    static void export() throws IOException {
        System.setProperty("de.kherud.llama.tmpdir", dir.toString());
        LlamaModel.setLogger(LogFormat.TEXT, (level, message) -> { });
        base = DefaultModel.load();
        fp32Gguf = dir.resolve("stories15M-f32.gguf");
        ModelExport.gguf(base, fp32Gguf);
        llama = open(fp32Gguf);
    }

    @AfterAll
    static void close() {
        if (llama != null) {
            llama.close();
        }
        if (base != null) {
            base.close();
        }
    }

    private static LlamaModel open(Path gguf) {
        return new LlamaModel(new ModelParameters().setModel(gguf.toString()).setCtxSize(256).setThreads(LLAMA_THREADS)
                .setThreadsBatch(LLAMA_THREADS).setCacheTypeK(CacheType.F32).setCacheTypeV(CacheType.F32).setGpuLayers(0));
    }

    /** The prompts of tests/data/llama2c_golden.json that run.c could encode, with BOS first. */
    private static List<int[]> goldenPrompts() throws IOException {
        JsonNode golden = new ObjectMapper().readTree(Path.of("data", "llama2c_golden.json").toFile());
        List<int[]> prompts = new ArrayList<>();
        for (JsonNode c : golden.path("cases")) {
            if (c.has("error")) {
                continue;
            }
            int p = c.path("n_prompt_tokens").asInt();
            int[] tokens = new int[p + 1];
            tokens[0] = base.tokenizer().bos();
            for (int i = 0; i < p; i++) {
                tokens[i + 1] = c.path("tokens").get(i).asInt();
            }
            prompts.add(tokens);
        }
        return prompts;
    }

    @Test
    void fp32GreedyTextOfTheGoldenPromptsIsDtms() throws IOException {
        List<int[]> prompts = goldenPrompts();
        assertEquals(10, prompts.size());
        int[][] generated;
        try (Session s = base.newSession(SessionOptions.defaults().withThreads(THREADS))) {
            generated = s.generate(prompts.toArray(new int[0][]), N, false);
        }
        for (int i = 0; i < prompts.size(); i++) {
            String ours = piecesText(generated[i]);
            String theirs = llama.complete(TokenPrompts.greedy(prompts.get(i), N));
            assertEquals(ours, theirs, "prompt " + Arrays.toString(prompts.get(i)) + ", dtm's tokens "
                    + Arrays.toString(generated[i]));
        }
    }

    /**
     * The text of generated tokens as llama.cpp writes it: each token's piece, BOS and EOS as
     * nothing. (dtm's decode, like llama2.c's, also drops the space after a BOS, which this model
     * sometimes writes after "The end.": the tokens are the same, the convention differs.)
     */
    private static String piecesText(int[] tokens) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (int t : tokens) {
            if (t != base.tokenizer().bos() && t != base.tokenizer().eos()) {
                bytes.writeBytes(base.tokenizer().pieceBytes(t));
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void llamaCppTokenizesAsDtm() throws IOException {
        List<String> texts = new ArrayList<>(List.of("", " ", "  ", "a", "Once upon a time", "  two  spaces",
                "Zoë saw a café", "line\nbreak", "\n\nparagraph\n", "tab\there", "naïve café — “quoted”",
                "日本語のテキスト", "emoji 🙂 and 🐶", "x".repeat(300), "1234567890 3.14159", "Lily's dog didn't bark."));
        JsonNode golden = new ObjectMapper().readTree(Path.of("data", "llama2c_golden.json").toFile());
        golden.path("cases").forEach(c -> texts.add(c.path("prompt").asText()));
        for (Path file : DefaultTexts.fetch()) {
            texts.addAll(Arrays.asList(Files.readString(file).replace("\r\n", "\n").split("\n")));
        }
        List<String> differences = new ArrayList<>();
        for (String text : texts) {
            int[] ours = base.tokenizer().encode(text, false);
            int[] theirs = llama.encode(text);
            if (!Arrays.equals(ours, theirs)) {
                differences.add("'" + text + "': dtm " + Arrays.toString(ours) + " llama.cpp " + Arrays.toString(theirs));
            }
        }
        assertTrue(texts.size() > 3000, "texts: " + texts.size());
        assertTrue(differences.isEmpty(), differences.size() + " of " + texts.size() + " texts tokenize differently, "
                + "e.g.\n" + String.join("\n", differences.subList(0, Math.min(5, differences.size()))));
    }

    @Test
    void convertedCheckpointsGgufTokenizesAsDtm() throws IOException {
        Path hf = dir.resolve("stories15M-hf");
        base.saveHuggingFace(hf);
        Path gguf = dir.resolve("stories15M-from-hf.gguf");
        try (Model checkpoint = Model.load(hf)) {
            ModelExport.gguf(checkpoint, gguf);
        }
        List<String> texts = List.of("Once upon a time", "  two  spaces", "Zoë saw a café", "line\nbreak",
                "emoji 🙂 and 🐶", "Lily's dog didn't bark.", "The little dog ran to the big red barn.");
        try (LlamaModel fromHf = open(gguf)) {
            for (String text : texts) {
                assertArrayEquals(base.tokenizer().encode(text, false), fromHf.encode(text), text);
            }
            int[] prompt = base.tokenizer().encode("Once upon a time", true);
            assertEquals(llama.complete(TokenPrompts.greedy(prompt, 30)), fromHf.complete(TokenPrompts.greedy(prompt, 30)));
        }
    }

    @Test
    void quantizedExportsPerplexityInLlamaCppIsWithinOnePercentOfDtms() throws IOException, InterruptedException {
        Path tool = Path.of(System.getProperty("dtm.nativeBuildDir", "../build/cmake"), "tests", "cpp",
                "llama_cpp_perplexity");
        assumeTrue(Files.isExecutable(tool), tool + " is missing: it is built with the C++ tests (-Ddtm.buildTests=ON)");
        Path library = dir.resolve("libjllama-copy.so");
        try (InputStream in = LlamaModel.class.getResourceAsStream("/de/kherud/llama/Linux/x86_64/libjllama.so")) {
            assumeTrue(in != null, "the binding has no linux-x86_64 library");
            Files.copy(in, library, StandardCopyOption.REPLACE_EXISTING);
        }
        int[] text = base.tokenizer().encode(Files.readString(DefaultTexts.fetch().get(0)), true);
        int ctx = base.config().maxSeqLen();
        List<Plan> plans = List.of(
                new Plan("fp32 (control)", List.of()),
                Plan.of("model.layers.*", Compression.parse("q8_0")),
                Plan.of("model.layers.*", Compression.parse("q4_0")),
                new Plan("mixed", List.of(
                        new Plan.Entry("model.layers.*.self_attn.*", Compression.parse("q8_0")),
                        new Plan.Entry("model.layers.*.mlp.*", Compression.parse("q4_0")),
                        new Plan.Entry("model.layers.[4-5].mlp.down_proj", List.of(Compression.parse("magnitude:0.5"),
                                Compression.parse("q8_0")), null),
                        new Plan.Entry("lm_head", Compression.parse("q8_0")))));
        StringBuilder table = new StringBuilder();
        for (Plan plan : plans) {
            try (Model candidate = plan.apply(base, null, THREADS)) {
                Path gguf = dir.resolve("candidate.gguf");
                ModelExport.gguf(candidate, gguf);
                PerplexityResult ours = TextPerplexity.of(candidate, text, ctx, PPL_WINDOWS,
                        RunOptions.defaults().withSession(SessionOptions.defaults().withThreads(THREADS)));
                double theirs = llamaCppPerplexity(tool, library, gguf, text, ctx, PPL_WINDOWS);
                double ratio = theirs / ours.perplexity();
                table.append(String.format(Locale.ROOT, "%-40s dtm %.4f llama.cpp %.4f ratio %.5f%n",
                        plan.description().isEmpty() ? plan.entries().get(0).match() + "="
                                + plan.entries().get(0).compressions().get(0) : plan.description(),
                        ours.perplexity(), theirs, ratio));
                assertTrue(Math.abs(ratio - 1) < 0.01, "llama.cpp " + theirs + " vs dtm " + ours.perplexity()
                        + " for " + plan.toJson());
            }
        }
        System.out.print(table);
    }

    /** llama.cpp-convention perplexity of the GGUF over the first windows of the text, from llama.cpp's logits. */
    private static double llamaCppPerplexity(Path tool, Path library, Path gguf, int[] text, int ctx, int windows)
            throws IOException, InterruptedException {
        Process p = new ProcessBuilder(tool.toString(), library.toString(), gguf.toString(), String.valueOf(LLAMA_THREADS))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedWriter w = new BufferedWriter(new OutputStreamWriter(p.getOutputStream(), StandardCharsets.US_ASCII))) {
            w.write(ctx + "\n");
            for (int win = 0; win < windows; win++) {
                StringBuilder line = new StringBuilder().append(base.tokenizer().bos());
                for (int j = 1; j < ctx; j++) {
                    line.append(' ').append(text[win * ctx + j]);
                }
                w.write(line.append('\n').toString());
            }
        }
        double nll = 0;
        long scored = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII))) {
            for (int win = 0; win < windows; win++) {
                String[] cells = r.readLine().split(" ");
                for (int j = ctx / 2; j < ctx - 1; j++) {  // predictions of tokens ctx/2+1 .. ctx-1
                    nll -= Double.parseDouble(cells[2 * j + 1]);
                    scored++;
                }
            }
        }
        assertEquals(0, p.waitFor(), "llama_cpp_perplexity failed");
        return Math.exp(nll / scored);
    }
}
