package dtm.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Seeded mutations of a file, the kind that break parsers: bit flips, interesting bytes and
 * 32-bit integers, deleted, inserted and duplicated ranges, truncations, splices with another
 * seed, numbers replaced by huge, negative or non-finite ones, deep nesting, huge strings; and,
 * for JSON and JSON lines, structural mutations that keep the syntax valid. The same seed gives
 * the same mutant.
 */
final class Mutator {
    private static final byte[] INTERESTING_BYTES = {0, 1, 0x7f, (byte) 0x80, (byte) 0xff, '"', '{', '}', '[', ']',
            ',', ':', '\n', '\r', '0', '-', '\\', 'e', '.', (byte) 0xc3, (byte) 0xef};
    private static final int[] INTERESTING_INTS = {0, 1, -1, 2, 255, 256, 65535, 65536, Integer.MAX_VALUE,
            Integer.MIN_VALUE, Integer.MAX_VALUE - 7, 1 << 30, 0x7fffffff / 4 + 1, 32000, 31999, 32001};
    private static final List<String> NUMBERS = List.of("-1", "0", "-0", "2147483647", "2147483648", "-2147483649",
            "4294967296", "9223372036854775807", "9223372036854775808", "1e308", "1e309", "-1e309", "1e-400", "NaN",
            "Infinity", "0.5", "1.0", "99999999999999999999999999999999999999", "1" + "0".repeat(2000), "0x10",
            "\"1\"", "null", "true", "[]", "{}");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Function<JsonNode, String> JSON_TEXT = node -> {
        try {
            return JSON.writeValueAsString(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    };

    private final Random random;
    private final List<byte[]> others;

    /**
     * @param seed   the mutant's seed
     * @param others files to splice with (the target's other seeds)
     */
    Mutator(long seed, List<byte[]> others) {
        this.random = new Random(seed);
        this.others = others;
    }

    /** One to four mutations of {@code input} (never changed itself). */
    byte[] mutate(byte[] input) {
        byte[] b = input.clone();
        int count = 1 + random.nextInt(4);
        if (random.nextBoolean()) {  // structural mutations only, where the input is JSON
            byte[] tree = treeMutation(b);
            for (int i = 1; tree != null && i < count; i++) {
                byte[] next = treeMutation(tree);
                tree = next != null ? next : tree;
            }
            if (tree != null) {
                return tree;
            }
        }
        for (int i = 0; i < count; i++) {
            b = once(b);
        }
        return b;
    }

    private byte[] once(byte[] b) {
        int op = random.nextInt(12);
        if (b.length == 0) {
            op = 3;  // only insertion makes something of nothing
        }
        switch (op) {
            case 0 -> {  // flip a bit
                int at = random.nextInt(b.length);
                b[at] ^= (byte) (1 << random.nextInt(8));
                return b;
            }
            case 1 -> {  // an interesting byte
                b[random.nextInt(b.length)] = INTERESTING_BYTES[random.nextInt(INTERESTING_BYTES.length)];
                return b;
            }
            case 2 -> {  // delete a range
                int at = random.nextInt(b.length);
                int len = Math.min(b.length - at, 1 + random.nextInt(random.nextBoolean() ? 8 : 256));
                return concat(Arrays.copyOfRange(b, 0, at), Arrays.copyOfRange(b, at + len, b.length));
            }
            case 3 -> {  // insert random bytes
                byte[] ins = new byte[1 + random.nextInt(8)];
                random.nextBytes(ins);
                return insert(b, random.nextInt(b.length + 1), ins);
            }
            case 4 -> {  // duplicate a range
                int at = random.nextInt(b.length);
                int len = Math.min(b.length - at, 1 + random.nextInt(64));
                return insert(b, random.nextInt(b.length + 1), Arrays.copyOfRange(b, at, at + len));
            }
            case 5 -> {  // truncate
                return Arrays.copyOf(b, random.nextInt(b.length));
            }
            case 6 -> {  // splice: this file's head, another's tail
                byte[] other = others.get(random.nextInt(others.size()));
                int cut = random.nextInt(b.length + 1);
                int from = other.length == 0 ? 0 : random.nextInt(other.length);
                return concat(Arrays.copyOf(b, cut), Arrays.copyOfRange(other, from, other.length));
            }
            case 7, 8 -> {  // a number replaced by a huge, negative, non-finite one (or another value)
                int at = findDigit(b);
                if (at < 0) {
                    return once(b);
                }
                int end = at;
                while (end < b.length && (Character.isDigit(b[end]) || b[end] == '.' || b[end] == 'e' || b[end] == '-')) {
                    end++;
                }
                byte[] n = NUMBERS.get(random.nextInt(NUMBERS.size())).getBytes(StandardCharsets.US_ASCII);
                return concat(concat(Arrays.copyOf(b, at), n), Arrays.copyOfRange(b, end, b.length));
            }
            case 9 -> {  // deep nesting
                int depth = 1 + random.nextInt(random.nextBoolean() ? 50 : 20000);
                String open = random.nextBoolean() ? "[" : "{\"a\":";
                return insert(b, random.nextInt(b.length + 1), open.repeat(depth).getBytes(StandardCharsets.US_ASCII));
            }
            case 10 -> {  // a 32-bit little-endian integer overwritten
                if (b.length < 4) {
                    return once(b);
                }
                int at = random.nextBoolean() ? random.nextInt(b.length - 3) : 4 * random.nextInt(b.length / 4);
                int v = INTERESTING_INTS[random.nextInt(INTERESTING_INTS.length)];
                ByteBuffer.wrap(b, at, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(v);
                return b;
            }
            default -> {  // a huge string or a long run of one character
                int at = random.nextInt(b.length + 1);
                String s = random.nextBoolean() ? "\"" + "a".repeat(1 + random.nextInt(200_000)) + "\""
                        : "\\u0000\\ud800".repeat(1 + random.nextInt(100));
                return insert(b, at, s.getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    /**
     * A structural mutation of JSON (the whole file, or one line of a JSON-lines file): one value
     * replaced by an interesting one, removed, duplicated or moved, or a member renamed; the
     * syntax stays valid, so the mutant reaches the checks behind the JSON parser. Null when the
     * input (line) is no JSON.
     */
    private byte[] treeMutation(byte[] b) {
        String text = new String(b, StandardCharsets.UTF_8);
        JsonNode root = parse(text);
        if (root != null && root.isContainerNode()) {
            return JSON_TEXT.apply(mutateTree(root)).getBytes(StandardCharsets.UTF_8);
        }
        String[] lines = text.split("\n", -1);
        for (int attempt = 0; attempt < 4 && lines.length > 0; attempt++) {
            int i = random.nextInt(lines.length);
            String line = lines[i];
            int checksum = line.lastIndexOf(",\"crc32\":\"");
            String body = checksum > 0 && line.endsWith("\"}") ? line.substring(0, checksum) + "}" : line;
            JsonNode node = parse(body);
            if (node != null && node.isContainerNode()) {
                String mutated = JSON_TEXT.apply(mutateTree(node));
                if (checksum > 0 && mutated.endsWith("}") && mutated.length() > 2) {
                    mutated = mutated.substring(0, mutated.length() - 1) + line.substring(checksum);
                }
                lines[i] = mutated;
                return String.join("\n", lines).getBytes(StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private JsonNode mutateTree(JsonNode root) {
        List<JsonNode> containers = new ArrayList<>();
        collect(root, containers);
        JsonNode parent = containers.get(random.nextInt(containers.size()));
        if (parent.isEmpty()) {
            return root;
        }
        if (parent instanceof ObjectNode object) {
            List<String> names = new ArrayList<>();
            object.fieldNames().forEachRemaining(names::add);
            String name = names.get(random.nextInt(names.size()));
            switch (random.nextInt(4)) {
                case 0 -> object.remove(name);
                case 1 -> object.set(name + (random.nextBoolean() ? "x" : ""), object.remove(name));
                case 2 -> object.set(names.get(random.nextInt(names.size())), object.get(name).deepCopy());
                default -> object.set(name, interestingValue());
            }
        } else if (parent instanceof ArrayNode array) {
            int i = random.nextInt(array.size());
            switch (random.nextInt(4)) {
                case 0 -> array.remove(i);
                case 1 -> array.insert(i, array.get(i).deepCopy());
                case 2 -> array.add(array.get(i).deepCopy());
                default -> array.set(i, interestingValue());
            }
        }
        return root;
    }

    private JsonNode interestingValue() {
        String n = NUMBERS.get(random.nextInt(NUMBERS.size()));
        JsonNode v = parse(n);
        return switch (random.nextInt(6)) {
            case 0 -> JsonNodeFactory.instance.textNode("");
            case 1 -> JsonNodeFactory.instance.textNode("a".repeat(random.nextInt(3) == 0 ? 100_000 : 3));
            case 2 -> JsonNodeFactory.instance.nullNode();
            default -> v != null ? v : JsonNodeFactory.instance.textNode(n);
        };
    }

    private static void collect(JsonNode node, List<JsonNode> out) {
        if (node.isContainerNode()) {
            out.add(node);
            node.forEach(child -> collect(child, out));
        }
    }

    private static JsonNode parse(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private int findDigit(byte[] b) {
        int start = random.nextInt(b.length);
        for (int i = 0; i < b.length; i++) {
            int at = (start + i) % b.length;
            if (Character.isDigit(b[at]) && (at == 0 || !Character.isDigit(b[at - 1]))) {
                return at;
            }
        }
        return -1;
    }

    private static byte[] insert(byte[] b, int at, byte[] ins) {
        return concat(concat(Arrays.copyOf(b, at), ins), Arrays.copyOfRange(b, at, b.length));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(a.length + b.length);
        out.writeBytes(a);
        out.writeBytes(b);
        return out.toByteArray();
    }
}
