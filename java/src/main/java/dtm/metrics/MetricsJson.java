package dtm.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.engine.Engine;

import java.util.List;
import java.util.Objects;

/**
 * The JSON forms of evaluation and perplexity results, versioned by their {@code "schema"}
 * member ({@value #EVAL_SCHEMA}, {@value #PERPLEXITY_SCHEMA}); docs/json-schema.md describes
 * every member. NaN (e.g. KL without base information) is written as null.
 */
public final class MetricsJson {
    /** Schema of {@link #evaluation}. */
    public static final String EVAL_SCHEMA = "dtm.eval/1";
    /** Schema of {@link #perplexity}. */
    public static final String PERPLEXITY_SCHEMA = "dtm.perplexity/1";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private MetricsJson() {
    }

    /** A mapper that writes indented JSON. */
    public static ObjectMapper mapper() {
        return JSON;
    }

    /**
     * An evaluation as JSON.
     *
     * @param referenceFile the reference's file, or null when it was not read from or saved to one
     * @param qs            the q of each FDT_q to include
     * @param positions     include the per-position arrays (when the result kept them)
     */
    public static ObjectNode evaluation(EvaluationResult r, String referenceFile, List<Double> qs, boolean positions) {
        Objects.requireNonNull(r, "r");
        Objects.requireNonNull(qs, "qs");
        ObjectNode root = JSON.createObjectNode();
        root.put("schema", EVAL_SCHEMA);
        root.put("dtmVersion", version());
        root.put("candidate", r.candidate());
        ObjectNode ref = root.putObject("reference");
        ref.put("file", referenceFile);
        putSettings(ref, r.reference());
        root.put("klMode", r.klMode().id());
        root.put("klModeLabel", r.klMode().label());
        Aggregates a = r.aggregates();
        root.put("sampleCount", r.sampleCount());
        root.put("tokens", a.tokens());
        root.put("identicalSamples", a.identical());
        number(root, "tokenNll", a.tokenNll());
        number(root, "tokenPerplexity", a.tokenPerplexity());
        number(root, "seconds", r.seconds());
        number(root, "tokensPerSecond", r.tokensPerSecond());
        ArrayNode fdtQ = root.putArray("fdtQ");
        for (double q : qs) {
            ObjectNode e = fdtQ.addObject();
            e.put("q", q);
            e.put("value", r.fdtQ(q));
        }
        ObjectNode agg = root.putObject("aggregates");
        summary(agg, "fdt", a.fdt());
        summary(agg, "sdt", a.sdt());
        summary(agg, "sdtShare", a.sdtShare());
        summary(agg, "top1Agreement", a.top1Agreement());
        summary(agg, "nll", a.nll());
        summary(agg, "perplexity", a.perplexity());
        summary(agg, "deltaP", a.deltaP());
        summary(agg, "kl", a.kl());
        ArrayNode samples = root.putArray("samples");
        for (SampleMetrics s : r.samples()) {
            ObjectNode e = samples.addObject();
            e.put("index", s.index());
            e.put("promptTokens", s.promptTokens());
            e.put("n", s.n());
            e.put("fdt", s.fdt());
            e.put("sdt", s.sdt());
            number(e, "sdtShare", s.sdtShare());
            number(e, "top1Agreement", s.top1Agreement());
            number(e, "nll", s.nll());
            number(e, "perplexity", s.perplexity());
            number(e, "deltaP", s.deltaP());
            number(e, "kl", s.kl());
        }
        PositionMetrics p = r.positions();
        if (positions && p != null) {
            ArrayNode list = root.putArray("positions");
            for (int s = 0; s < p.sampleCount(); s++) {
                ObjectNode e = list.addObject();
                e.put("index", s);
                ArrayNode argmax = e.putArray("argmax");
                for (int v : p.argmax(s)) {
                    argmax.add(v);
                }
                ArrayNode diverged = e.putArray("diverged");
                for (boolean d : p.divergenceMask(s)) {
                    diverged.add(d ? 1 : 0);
                }
                floats(e.putArray("logprob"), p.logprob(s));
                int from = p.offsets()[s];
                int to = p.offsets()[s + 1];
                floats(e.putArray("baseLogprob"), java.util.Arrays.copyOfRange(p.baseLogprob(), from, to));
                floats(e.putArray("kl"), p.kl(s));
            }
        } else {
            root.putNull("positions");
        }
        return root;
    }

    /**
     * A text perplexity as JSON.
     *
     * @param textFile the text's file, or null
     */
    public static ObjectNode perplexity(PerplexityResult r, String textFile) {
        Objects.requireNonNull(r, "r");
        ObjectNode root = JSON.createObjectNode();
        root.put("schema", PERPLEXITY_SCHEMA);
        root.put("dtmVersion", version());
        root.put("convention", "llama.cpp");
        root.put("model", r.model());
        root.put("text", textFile);
        root.put("context", r.context());
        root.put("textTokens", r.textTokens());
        root.put("windows", r.windows());
        root.put("scoredTokensPerWindow", r.context() - r.context() / 2 - 1);
        root.put("scoredTokens", r.scoredTokens());
        number(root, "nll", r.nll());
        number(root, "perplexity", r.perplexity());
        number(root, "seconds", r.seconds());
        number(root, "tokensPerSecond", r.tokensPerSecond());
        ArrayNode w = root.putArray("windowNll");
        for (double v : r.windowNll()) {
            if (Double.isFinite(v)) {
                w.add(v);
            } else {
                w.addNull();
            }
        }
        return root;
    }

    private static void putSettings(ObjectNode ref, ReferenceSettings st) {
        ObjectNode base = ref.putObject("base");
        base.put("modelSha256", st.base().modelSha256());
        base.put("tokenizerSha256", st.base().tokenizerSha256());
        ref.put("vocabSize", st.vocabSize());
        ref.put("n", st.options().n());
        ref.put("topK", st.options().topK());
        ref.put("stopAtEos", st.options().stopAtEos());
        ObjectNode p = ref.putObject("prompts");
        PromptSettings ps = st.prompts();
        p.put("source", ps.source().id());
        p.put("name", ps.name());
        p.put("sourceSha256", ps.sourceSha256());
        p.put("promptTokens", ps.promptTokens());
        p.put("count", ps.count());
        p.put("seed", ps.seed());
        p.put("sha256", st.promptsSha256());
    }

    private static void summary(ObjectNode parent, String name, Summary s) {
        ObjectNode o = parent.putObject(name);
        o.put("count", s.count());
        number(o, "mean", s.mean());
        number(o, "median", s.median());
        number(o, "min", s.min());
        number(o, "p10", s.p10());
        number(o, "p25", s.p25());
        number(o, "p75", s.p75());
        number(o, "p90", s.p90());
        number(o, "max", s.max());
    }

    private static void number(ObjectNode o, String name, double v) {
        if (Double.isFinite(v)) {
            o.put(name, v);
        } else {
            o.putNull(name);
        }
    }

    private static void floats(ArrayNode a, float[] values) {
        for (float v : values) {
            if (Float.isFinite(v)) {
                a.add(v);
            } else {
                a.addNull();
            }
        }
    }

    private static String version() {
        try {
            return Engine.version();
        } catch (LinkageError e) {
            return "unknown";
        }
    }
}
