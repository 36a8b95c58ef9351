package dtm.reference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tests' own safetensors reader and writer (no code shared with the engine): an 8-byte
 * little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, the data.
 * F32, F16 and BF16 are decoded to double here, with their own bit arithmetic.
 */
public final class SafetensorsIo {

    /** One tensor: dtype name, shape, little-endian bytes. */
    public record Entry(String dtype, long[] shape, byte[] bytes) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private SafetensorsIo() {}

    /** Writes the tensors in map order. */
    public static void write(Path file, Map<String, Entry> tensors) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + e.getValue().bytes().length);
            offset += e.getValue().bytes().length;
        }
        StringBuilder text = new StringBuilder(json.writeValueAsString(header));
        while (text.length() % 8 != 0) {
            text.append(' ');
        }
        byte[] head = text.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(8 + head.length + offset)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(head.length).put(head);
        for (Entry e : tensors.values()) {
            out.put(e.bytes());
        }
        Files.write(file, out.array());
    }

    /** Reads every tensor of a file. */
    public static Map<String, Entry> read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer in = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = Math.toIntExact(in.getLong());
        JsonNode header = new ObjectMapper().readTree(new String(all, 8, headerLength, StandardCharsets.UTF_8));
        Map<String, Entry> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            long[] shape = new long[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.get("shape").get(i).asLong();
            }
            int begin = 8 + headerLength + t.get("data_offsets").get(0).asInt();
            int end = 8 + headerLength + t.get("data_offsets").get(1).asInt();
            byte[] bytes = new byte[end - begin];
            System.arraycopy(all, begin, bytes, 0, bytes.length);
            out.put(e.getKey(), new Entry(t.get("dtype").asText(), shape, bytes));
        }
        return out;
    }

    /** The values of an F32, F16 or BF16 tensor. */
    public static double[] values(Entry e) {
        ByteBuffer in = ByteBuffer.wrap(e.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[Math.toIntExact(e.elements())];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (e.dtype()) {
                case "F32" -> in.getFloat();
                case "BF16" -> Float.intBitsToFloat((in.getShort() & 0xffff) << 16);
                case "F16" -> halfToDouble(in.getShort() & 0xffff);
                default -> throw new IllegalArgumentException("dtype " + e.dtype());
            };
        }
        return out;
    }

    /** An entry holding {@code values} in the given dtype (rounded to nearest, ties to even). */
    public static Entry encode(String dtype, long[] shape, float[] values) {
        int width = dtype.equals("F32") ? 4 : 2;
        ByteBuffer out = ByteBuffer.allocate(values.length * width).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case "F32" -> out.putFloat(v);
                case "BF16" -> out.putShort(toBfloat16(v));
                case "F16" -> out.putShort(toHalf(v));
                default -> throw new IllegalArgumentException("dtype " + dtype);
            }
        }
        return new Entry(dtype, shape, out.array());
    }

    static double halfToDouble(int h) {
        int sign = (h & 0x8000) != 0 ? -1 : 1;
        int exponent = (h >> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exponent == 0) {
            return sign * mantissa * Math.pow(2, -24);
        }
        if (exponent == 31) {
            return mantissa == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        return sign * (1 + mantissa / 1024.0) * Math.pow(2, exponent - 15);
    }

    static short toBfloat16(float v) {
        int bits = Float.floatToIntBits(v);
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /** To IEEE half for values in its normal range (the tests' weights); tiny ones become zero. */
    static short toHalf(float v) {
        int bits = Float.floatToIntBits(v);
        int sign = (bits >>> 16) & 0x8000;
        int exponent = ((bits >>> 23) & 0xff) - 127 + 15;
        if (exponent <= 0) {
            return (short) sign;
        }
        int mantissa = (bits & 0x7fffff) >> 13;
        int rest = bits & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (mantissa & 1) == 1)) {
            mantissa++;
            if (mantissa == 0x400) {
                mantissa = 0;
                exponent++;
            }
        }
        return (short) (sign | (exponent << 10) | mantissa);
    }
}
