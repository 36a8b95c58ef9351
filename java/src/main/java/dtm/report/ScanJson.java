package dtm.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dtm.metrics.Aggregates;
import dtm.metrics.Summary;
import dtm.scan.Int8Search;
import dtm.scan.Int8Selection;
import dtm.scan.PlanOutcome;
import dtm.scan.RankAgreement;
import dtm.scan.ScanCell;
import dtm.scan.ScanResult;
import dtm.scan.TextSample;

import java.util.List;

/**
 * The data of a scan report as JSON, schema {@value #SCHEMA} (docs/json-schema.md): the scan's
 * cells with their aggregates, the rank agreement of FDT and perplexity per setting, and the
 * plans evaluated against their baselines with the plans themselves (and their evidence).
 * Numbers that are not finite are written as null.
 */
public final class ScanJson {
    /** The schema name written into the file. */
    public static final String SCHEMA = "dtm.scan/1";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ScanJson() {}

    /** The report's data as a JSON tree. */
    public static ObjectNode of(ReportInput input) {
        ScanResult scan = input.scan();
        ObjectNode root = JSON.createObjectNode();
        root.put("schema", SCHEMA);
        root.put("title", input.title());
        ObjectNode meta = root.putObject("metadata");
        input.metadata().forEach(meta::put);
        root.put("base", scan.base());
        root.put("reference", scan.reference());
        root.put("n", scan.n());
        number(root, "seconds", scan.seconds());
        ArrayNode settings = root.putArray("settings");
        scan.settings().forEach(settings::add);
        ArrayNode cells = root.putArray("cells");
        for (ScanCell c : scan.cells()) {
            cell(cells.addObject(), c);
        }
        ArrayNode ranks = root.putArray("rankAgreement");
        for (RankAgreement r : RankAgreement.all(scan)) {
            ObjectNode o = ranks.addObject();
            o.put("setting", r.setting());
            number(o, "kendallTauB", r.kendallTauB());
            ArrayNode list = o.putArray("components");
            for (int i = 0; i < r.components().size(); i++) {
                ObjectNode e = list.addObject();
                e.put("component", r.components().get(i));
                e.put("fdt75", r.fdt75().get(i));
                number(e, "perplexity", r.perplexity().get(i));
                e.put("fdtRank", r.fdtRanks().get(i));
                e.put("perplexityRank", r.perplexityRanks().get(i));
            }
        }
        if (input.fp32Bytes() > 0) {
            root.put("fp32Bytes", input.fp32Bytes());
        } else {
            root.putNull("fp32Bytes");
        }
        ArrayNode plans = root.putArray("plans");
        for (PlanOutcome o : input.outcomes()) {
            ObjectNode p = plans.addObject();
            p.put("name", o.name());
            number(p, "sparsity", o.sparsity());
            number(p, "quantizedShare", o.quantizedShare());
            number(p, "prunedBeyond90Share", o.headline().prunedBeyond90());
            number(p, "attentionPrunedBeyond90Share", o.headline().attentionPrunedBeyond90());
            number(p, "decoderInt8Share", o.headline().decoderInt8Share());
            p.put("fdt75", o.fdt75());
            number(p, "fdtMean", o.fdtMean());
            number(p, "sdtMean", o.sdtMean());
            number(p, "perplexity", o.perplexity());
            number(p, "textPerplexity", o.textPerplexity());
            p.put("bytes", o.bytes());
            number(p, "bytesVsFp32", input.sizeVsFp32(o));
            Int8Selection search = input.int8() == null ? null : input.int8().searchOf(o.name());
            if (search != null) {
                ArrayNode checks = p.putArray("prefixChecks");
                for (Int8Search.PrefixCheck c : search.checks()) {
                    ObjectNode check = checks.addObject();
                    check.put("length", c.length());
                    number(check, "quantizedShare", c.outcome().quantizedShare());
                    check.put("fdt75", c.outcome().fdt75());
                    check.put("passed", c.passed());
                }
            }
            ArrayNode samples = p.putArray("samples");
            for (TextSample t : input.samples().getOrDefault(o.name(), List.of())) {
                ObjectNode sample = samples.addObject();
                sample.put("label", t.label());
                sample.put("sample", t.sample());
                sample.put("fdt", t.fdt());
                sample.put("prompt", t.prompt());
                t.base().forEach(sample.putArray("base")::add);
                t.candidate().forEach(sample.putArray("candidate")::add);
            }
            try {
                p.set("plan", JSON.readTree(o.plan().toJson()));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("a plan's own JSON does not parse", e);
            }
        }
        return root;
    }

    /** The report's data as JSON text. */
    public static String text(ReportInput input) {
        try {
            return JSON.writeValueAsString(of(input)) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the scan report as JSON", e);
        }
    }

    private static void cell(ObjectNode o, ScanCell c) {
        Aggregates a = c.aggregates();
        o.put("component", c.component());
        o.put("kind", c.kind().hfName());
        o.put("layer", c.layer());
        o.put("parameters", c.parameters());
        o.put("setting", c.setting());
        o.put("fdt75", c.fdt75());
        o.put("tokens", a.tokens());
        number(o, "tokenNll", a.tokenNll());
        number(o, "tokenPerplexity", a.tokenPerplexity());
        o.put("identicalSamples", a.identical());
        number(o, "seconds", c.seconds());
        ObjectNode agg = o.putObject("aggregates");
        summary(agg, "fdt", a.fdt());
        summary(agg, "sdt", a.sdt());
        summary(agg, "sdtShare", a.sdtShare());
        summary(agg, "top1Agreement", a.top1Agreement());
        summary(agg, "nll", a.nll());
        summary(agg, "perplexity", a.perplexity());
        summary(agg, "deltaP", a.deltaP());
        summary(agg, "kl", a.kl());
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
}
