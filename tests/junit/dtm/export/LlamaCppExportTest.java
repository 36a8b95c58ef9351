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
import dtm.model.GgufVocabulary;
import dtm.model.Model;
import dtm.model.SessionOptions;
import dtm.model.Session;
import dtm.reference.TinyHfCheckpointWriter;
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
import java.util.Map;

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

    /** Llama 3's pre-tokenizer regex (its tokenizer.json's Split pattern), llama.cpp's "llama-bpe". */
    static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** GPT-2's map of bytes to printable characters, which byte-level BPE vocabularies are spelled in. */
    static String byteChar(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) {
            return String.valueOf((char) b);
        }
        int n = 0;
        for (int c = 0; c < b; c++) {
            boolean p = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
            n += p ? 0 : 1;
        }
        return String.valueOf((char) (256 + n));
    }

    /**
     * A byte-level BPE tokenizer.json (Llama 3's split, 256 byte pieces, a few merges, a special
     * token) on a tiny checkpoint: the GGUF's "gpt2" vocabulary makes llama.cpp tokenize as the
     * Hugging Face tokenizers library does for dtm.
     */
    @Test
    void byteLevelTokenizerJsonBecomesAGpt2VocabularyThatTokenizesTheSame() throws IOException {
        Path ckpt = TinyHfCheckpointWriter.write(dir.resolve("byte-level"), TinyHfCheckpointWriter.Spec.llama(), 5);
        ObjectMapper json = new ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putArray("added_tokens").addObject().put("id", 299).put("content", "<|begin_of_text|>")
                .put("single_word", false).put("lstrip", false).put("rstrip", false).put("normalized", false)
                .put("special", true);
        root.putNull("normalizer");
        com.fasterxml.jackson.databind.node.ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
        com.fasterxml.jackson.databind.node.ArrayNode steps = pre.putArray("pretokenizers");
        steps.addObject().put("type", "Split").put("behavior", "Isolated").put("invert", false)
                .putObject("pattern").put("Regex", LLAMA3_SPLIT);
        steps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
                .put("use_regex", false);
        root.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", true)
                .put("trim_offsets", false).put("use_regex", true);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        com.fasterxml.jackson.databind.node.ObjectNode model = root.putObject("model").put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        com.fasterxml.jackson.databind.node.ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) {
            vocab.put(byteChar(b), b);
        }
        String space = byteChar(' ');
        String[][] merges = {{space, "t"}, {"h", "e"}, {space + "t", "he"}, {"c", "a"}, {"ca", "t"},
                {space, "cat"}, {"o", "n"}, {space, "on"}, {"a", "t"}, {space, "m"}, {space + "m", "at"}};
        com.fasterxml.jackson.databind.node.ArrayNode mergeList = model.putArray("merges");
        int id = 256;
        for (String[] m : merges) {
            mergeList.add(m[0] + " " + m[1]);
            vocab.put(m[0] + m[1], id++);
        }
        json.writeValue(ckpt.resolve("tokenizer.json").toFile(), root);
        json.writeValue(ckpt.resolve("tokenizer_config.json").toFile(),
                json.createObjectNode().put("bos_token", "<|begin_of_text|>"));
        Path gguf = dir.resolve("byte-level.gguf");
        try (Model m = Model.load(ckpt)) {
            GgufVocabulary v = GgufVocabulary.of(m);
            assertEquals(GgufVocabulary.Kind.BYTE_PAIRS, v.kind());
            assertEquals("llama-bpe", v.pre());
            assertEquals(299, v.bos());
            assertEquals(GgufVocabulary.CONTROL, v.types()[299]);
            assertEquals(GgufVocabulary.UNUSED, v.types()[280]);
            assertEquals(merges.length, v.merges().size());
            ModelExport.gguf(m, gguf);
            List<String> texts = List.of("the cat on the mat", " the", "hello world\n\nthe end", "Zoë and 🙂",
                    "it's 12345 cats", "at  the   mat");
            try (LlamaModel byteLevel = open(gguf)) {
                for (String text : texts) {
                    int[] ours = m.tokenizer().encode(text, false);
                    assertArrayEquals(ours, byteLevel.encode(text), text);
                }
            }
            assertTrue(m.tokenizer().encode("the cat on the mat", false).length < "the cat on the mat".length(),
                    "the merges were used");
        }
    }

    /**
     * RoPE as the GGUF describes it: no scaling, linear (llama.rope.scaling.*) and llama3
     * (rope_freqs.weight) on a tiny checkpoint whose context reaches past the scaled
     * frequencies' wave lengths; llama.cpp's log-probabilities of random windows match dtm's,
     * and not those of the same weights with the scaling left out.
     */
    @Test
    void ropeScalingIsWhatLlamaCppComputes() throws IOException, InterruptedException {
        List<Map<String, Object>> scalings = List.of(Map.of(),
                Map.of("rope_type", "linear", "factor", 4.0),
                Map.of("rope_type", "llama3", "factor", 8.0, "low_freq_factor", 1.0, "high_freq_factor", 4.0,
                        "original_max_position_embeddings", 16));
        java.util.Random random = new java.util.Random(11);
        int[][] windows = new int[2][64];
        for (int[] w : windows) {
            w[0] = 1;
            for (int j = 1; j < w.length; j++) {
                w[j] = 3 + random.nextInt(297);
            }
        }
        StringBuilder table = new StringBuilder();
        for (Map<String, Object> scaling : scalings) {
            TinyHfCheckpointWriter.Spec spec = TinyHfCheckpointWriter.Spec.llama()
                    .withRopeScaling(scaling.isEmpty() ? null : scaling, 64).withHeads(4, 2, 16);
            String name = scaling.isEmpty() ? "none" : (String) scaling.get("rope_type");
            Path scaled = TinyHfCheckpointWriter.write(dir.resolve("rope-" + name), spec, 21);
            Path plain = TinyHfCheckpointWriter.write(dir.resolve("rope-" + name + "-plain"),
                    spec.withRopeScaling(null, 64), 21);
            Path gguf = dir.resolve("rope-" + name + ".gguf");
            double[][] ours;
            double[][] unscaled;
            try (Model m = Model.load(scaled); Model p = Model.load(plain)) {
                m.exportGguf(gguf, spmVocabulary(m.config().vocabSize()), "rope " + name);
                ours = dtmLogprobs(m, windows);
                unscaled = dtmLogprobs(p, windows);
            }
            double[][] theirs = llamaCppLogprobs(gguf, windows);
            double matched = maxDifference(ours, theirs);
            double missed = maxDifference(unscaled, theirs);
            table.append(String.format(Locale.ROOT, "rope %-7s max |dlogp| vs dtm %.2e, vs dtm without scaling %.2e%n",
                    name, matched, missed));
            assertTrue(matched < 2e-3, name + ": " + matched);
            if (!scaling.isEmpty()) {
                assertTrue(missed > 20 * matched, name + ": the scaling must matter here: " + missed + " vs " + matched);
            }
        }
        System.out.print(table);
    }

    /** q/k/v/o and MLP biases (Llama's attention_bias / mlp_bias) as llama.cpp adds them. */
    @Test
    void biasesAreWhatLlamaCppAdds() throws IOException, InterruptedException {
        int[][] windows = new int[1][64];
        java.util.Random random = new java.util.Random(12);
        windows[0][0] = 1;
        for (int j = 1; j < 64; j++) {
            windows[0][j] = 3 + random.nextInt(297);
        }
        Path ckpt = TinyHfCheckpointWriter.write(dir.resolve("biases"),
                TinyHfCheckpointWriter.Spec.llama().withBiases(true, true).withTied(true), 22);
        // the same weights with every bias zero, to show that the biases matter
        Path zeroed = Files.createDirectories(dir.resolve("biases-zero"));
        Files.copy(ckpt.resolve("config.json"), zeroed.resolve("config.json"));
        Map<String, dtm.reference.SafetensorsIo.Entry> tensors = new java.util.LinkedHashMap<>(
                dtm.reference.SafetensorsIo.read(ckpt.resolve("model.safetensors")));
        tensors.replaceAll((name, e) -> name.endsWith(".bias") ? new dtm.reference.SafetensorsIo.Entry(e.dtype(),
                e.shape(), new byte[e.bytes().length]) : e);
        dtm.reference.SafetensorsIo.write(zeroed.resolve("model.safetensors"), tensors);
        Path gguf = dir.resolve("biases.gguf");
        double[][] ours;
        double[][] withoutBiases;
        try (Model m = Model.load(ckpt); Model z = Model.load(zeroed)) {
            m.exportGguf(gguf, spmVocabulary(m.config().vocabSize()), "biases");
            ours = dtmLogprobs(m, windows);
            withoutBiases = dtmLogprobs(z, windows);
        }
        double[][] theirs = llamaCppLogprobs(gguf, windows);
        double matched = maxDifference(ours, theirs);
        double missed = maxDifference(withoutBiases, theirs);
        System.out.printf(Locale.ROOT, "biases: max |dlogp| vs dtm %.2e, vs dtm without biases %.2e%n", matched, missed);
        assertTrue(matched < 1e-2, "max |dlogp| " + matched);
        assertTrue(missed > 10 * matched, "the biases must matter here: " + missed + " vs " + matched);
    }

    /** A SentencePiece vocabulary of n tokens as llama.cpp needs one: specials, the 256 byte tokens, plain pieces. */
    private static GgufVocabulary spmVocabulary(int n) {
        List<byte[]> tokens = new ArrayList<>();
        int[] types = new int[n];
        for (int id = 0; id < n; id++) {
            String t = id == 0 ? "<unk>" : id == 1 ? "<s>" : id == 2 ? "</s>"
                    : id < 259 ? String.format(Locale.ROOT, "<0x%02X>", id - 3) : "p" + id;
            tokens.add(t.getBytes(StandardCharsets.UTF_8));
            types[id] = id == 0 ? GgufVocabulary.UNKNOWN : id < 3 ? GgufVocabulary.CONTROL
                    : id < 259 ? GgufVocabulary.BYTE : GgufVocabulary.NORMAL;
        }
        return new GgufVocabulary(GgufVocabulary.Kind.SENTENCEPIECE, tokens, new float[n], types, List.of(), 1, 2, 0,
                -1, true, false, true, null);
    }

    private static double[][] dtmLogprobs(Model model, int[][] windows) {
        dtm.model.ScoreResult r = model.score(Arrays.asList(windows));
        double[][] out = new double[windows.length][windows[0].length - 1];
        for (int w = 0; w < windows.length; w++) {
            float[] lp = r.logprobNext(w);
            for (int j = 0; j < out[w].length; j++) {
                out[w][j] = lp[j];
            }
        }
        return out;
    }

    private static double maxDifference(double[][] a, double[][] b) {
        double max = 0;
        for (int w = 0; w < a.length; w++) {
            for (int j = 0; j < a[w].length; j++) {
                max = Math.max(max, Math.abs(a[w][j] - b[w][j]));
            }
        }
        return max;
    }

    @Test
    void quantizedExportsPerplexityInLlamaCppIsWithinOnePercentOfDtms() throws IOException, InterruptedException {
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
                int[][] windows = new int[PPL_WINDOWS][];
                for (int w = 0; w < PPL_WINDOWS; w++) {
                    windows[w] = Arrays.copyOfRange(text, w * ctx, (w + 1) * ctx);
                    windows[w][0] = base.tokenizer().bos();
                }
                double nll = 0;
                long scored = 0;
                for (double[] logprobs : llamaCppLogprobs(gguf, windows)) {
                    for (int j = ctx / 2; j < ctx - 1; j++) {  // predictions of tokens ctx/2+1 .. ctx-1
                        nll -= logprobs[j];
                        scored++;
                    }
                }
                double theirs = Math.exp(nll / scored);
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

    /**
     * llama.cpp's log p(token j + 1) after tokens 0..j of each window (all windows of one length),
     * from llama.cpp's own logits: tests/cpp/llama_cpp_perplexity on the binding's native library.
     */
    private static double[][] llamaCppLogprobs(Path gguf, int[][] windows) throws IOException, InterruptedException {
        Path tool = Path.of(System.getProperty("dtm.nativeBuildDir", "../build/cmake"), "tests", "cpp",
                "llama_cpp_perplexity");
        assumeTrue(Files.isExecutable(tool), tool + " is missing: it is built with the C++ tests (-Ddtm.buildTests=ON)");
        Path library = dir.resolve("libjllama-copy.so");
        if (!Files.exists(library)) {
            try (InputStream in = LlamaModel.class.getResourceAsStream("/de/kherud/llama/Linux/x86_64/libjllama.so")) {
                assumeTrue(in != null, "the binding has no linux-x86_64 library");
                Files.copy(in, library, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        int ctx = windows[0].length;
        Process p = new ProcessBuilder(tool.toString(), library.toString(), gguf.toString(), String.valueOf(LLAMA_THREADS))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedWriter w = new BufferedWriter(new OutputStreamWriter(p.getOutputStream(), StandardCharsets.US_ASCII))) {
            w.write(ctx + "\n");
            for (int[] window : windows) {
                StringBuilder line = new StringBuilder();
                for (int t : window) {
                    line.append(line.length() == 0 ? "" : " ").append(t);
                }
                w.write(line.append('\n').toString());
            }
        }
        double[][] out = new double[windows.length][ctx - 1];
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII))) {
            for (double[] logprobs : out) {
                String[] cells = r.readLine().split(" ");
                for (int j = 0; j < ctx - 1; j++) {
                    logprobs[j] = Double.parseDouble(cells[2 * j + 1]);
                }
            }
        }
        assertEquals(0, p.waitFor(), "llama_cpp_perplexity failed");
        return out;
    }
}
