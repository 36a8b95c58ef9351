package dtm.engine;

import dtm.bindings.Dtm;
import dtm.errors.Status;
import dtm.model.ComponentKind;
import dtm.model.NormKind;
import dtm.model.Compression;
import dtm.model.GgufVocabulary;
import dtm.model.WeightFormat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.ToIntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every enum of the C API ({@code cpp/include/dtm/dtm.h}, read here as text) and its Java
 * mirror hold the same values: each C enumerator has the Java constant of its name with its
 * value, each Java constant (but {@link Status#UNKNOWN}) has its C enumerator, and the generated
 * bindings ({@link Dtm}) carry the header's values. A value added to the header without its Java
 * constant fails here, and so does an enum of the header that no Java type mirrors.
 */
class HeaderEnumsTest {
    private static Map<String, Map<String, Integer>> enums;

    @BeforeAll
    static void readHeader() throws IOException {
        String property = System.getProperty("dtm.header");
        Path header = property != null ? Path.of(property) : Path.of("..", "cpp", "include", "dtm", "dtm.h");
        assertTrue(Files.isRegularFile(header), "the C header is not at " + header.toAbsolutePath());
        enums = parseEnums(Files.readString(header, StandardCharsets.UTF_8));
    }

    /** The header's {@code typedef enum name { A = 1, B, ... } name;} blocks: name -> enumerator -> value. */
    static Map<String, Map<String, Integer>> parseEnums(String text) {
        String code = text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
        Map<String, Map<String, Integer>> out = new LinkedHashMap<>();
        Matcher m = Pattern.compile("typedef\\s+enum\\s+(\\w+)\\s*\\{([^}]*)\\}\\s*\\w+\\s*;").matcher(code);
        while (m.find()) {
            Map<String, Integer> values = new LinkedHashMap<>();
            int next = 0;
            for (String item : m.group(2).split(",")) {
                String entry = item.strip();
                if (entry.isEmpty()) {
                    continue;
                }
                String[] parts = entry.split("=");
                int value = parts.length > 1 ? Integer.decode(parts[1].strip()) : next;
                values.put(parts[0].strip(), value);
                next = value + 1;
            }
            out.put(m.group(1), values);
        }
        return out;
    }

    @Test
    void theParserReadsEnumsAsCDoes() {
        Map<String, Map<String, Integer>> e = parseEnums(
                "/* x */ typedef enum t { A = 2, /* c, d */ B, C = 0x10 // e\n, D } t;");
        assertEquals(Map.of("A", 2, "B", 3, "C", 16, "D", 17), e.get("t"));
    }

    @Test
    void everyEnumOfTheHeaderHasItsJavaMirror() {
        assertEquals(new TreeSet<>(Set.of("dtm_status", "dtm_isa", "dtm_component_kind", "dtm_weight_format",
                        "dtm_compression_kind", "dtm_gguf_vocab_kind", "dtm_norm_kind")), new TreeSet<>(enums.keySet()),
                "the header's enums; a new one needs a Java enum and a case in this test");
    }

    @Test
    void statusCodes() {
        assertMirrors("dtm_status", Status.class, Status::code,
                c -> c.startsWith("DTM_ERR_") ? c.substring("DTM_ERR_".length()) : c.substring("DTM_".length()),
                EnumSet.of(Status.UNKNOWN));
    }

    @Test
    void instructionSets() {
        assertMirrors("dtm_isa", Isa.class, Isa::code, c -> c.substring("DTM_ISA_".length()), EnumSet.noneOf(Isa.class));
    }

    @Test
    void componentKinds() {
        assertMirrors("dtm_component_kind", ComponentKind.class, ComponentKind::code,
                c -> c.substring("DTM_COMPONENT_".length()), EnumSet.noneOf(ComponentKind.class));
    }

    @Test
    void weightFormats() {
        assertMirrors("dtm_weight_format", WeightFormat.class, WeightFormat::code,
                c -> c.substring("DTM_FORMAT_".length()), EnumSet.noneOf(WeightFormat.class));
    }

    @Test
    void compressionKinds() {
        assertMirrors("dtm_compression_kind", Compression.Kind.class, Compression.Kind::code,
                c -> c.substring("DTM_COMPRESS_".length()).replaceFirst("^PRUNE_", ""),
                EnumSet.noneOf(Compression.Kind.class));
    }

    @Test
    void ggufVocabularyKinds() {
        assertMirrors("dtm_gguf_vocab_kind", GgufVocabulary.Kind.class, GgufVocabulary.Kind::code,
                c -> c.substring("DTM_GGUF_VOCAB_".length()), EnumSet.noneOf(GgufVocabulary.Kind.class));
    }

    @Test
    void normKinds() {
        assertMirrors("dtm_norm_kind", NormKind.class, NormKind::code, c -> c.substring("DTM_NORM_".length()),
                EnumSet.noneOf(NormKind.class));
    }

    private static <E extends Enum<E>> void assertMirrors(String cEnum, Class<E> javaEnum, ToIntFunction<E> code,
                                                          Function<String, String> javaName, Set<E> javaOnly) {
        Map<String, Integer> c = enums.get(cEnum);
        assertTrue(c != null && !c.isEmpty(), "no enum " + cEnum + " in the header");
        Set<E> seen = EnumSet.noneOf(javaEnum);
        for (Map.Entry<String, Integer> e : c.entrySet()) {
            String name = javaName.apply(e.getKey());
            E constant;
            try {
                constant = Enum.valueOf(javaEnum, name);
            } catch (IllegalArgumentException missing) {
                fail(cEnum + " has " + e.getKey() + " = " + e.getValue() + " but " + javaEnum.getSimpleName()
                        + " has no " + name);
                return;
            }
            assertEquals(e.getValue().intValue(), code.applyAsInt(constant),
                    javaEnum.getSimpleName() + "." + name + " against " + e.getKey());
            assertEquals(e.getValue().intValue(), generatedValue(e.getKey()), "Dtm." + e.getKey());
            seen.add(constant);
        }
        Set<E> extra = EnumSet.allOf(javaEnum);
        extra.removeAll(seen);
        extra.removeAll(javaOnly);
        assertTrue(extra.isEmpty(), javaEnum.getSimpleName() + " has " + extra + ", which " + cEnum + " does not");
    }

    /** The value the generated bindings give a C enumerator. */
    private static int generatedValue(String name) {
        try {
            return Dtm.class.getField(name).getInt(null);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("the generated bindings have no constant " + name, e);
        }
    }
}
