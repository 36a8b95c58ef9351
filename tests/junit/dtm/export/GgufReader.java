package dtm.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF v3 reader written from the format's description (llama.cpp's docs/gguf.md), for the
 * export tests: the metadata as Java values (strings, Long for integers, Float/Double, Boolean,
 * List for arrays), the tensor infos, and each tensor's bytes. It checks what a loader relies on:
 * magic, version, alignment of every tensor offset, and that the data fits the file.
 */
final class GgufReader {
    record TensorInfo(String name, long[] ne, int type, long offset) { }

    final Map<String, Object> metadata = new LinkedHashMap<>();
    final Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    final long dataStart;
    final int alignment;
    private final ByteBuffer file;

    GgufReader(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
        }
        byte[] magic = new byte[4];
        file.get(magic);
        if (!new String(magic, StandardCharsets.US_ASCII).equals("GGUF")) {
            throw new IOException(path + " is not GGUF");
        }
        int version = file.getInt();
        if (version != 3) {
            throw new IOException("GGUF version " + version);
        }
        long nTensors = file.getLong();
        long nKv = file.getLong();
        for (long i = 0; i < nKv; i++) {
            String key = string();
            metadata.put(key, value(file.getInt()));
        }
        for (long i = 0; i < nTensors; i++) {
            String name = string();
            int dims = file.getInt();
            long[] ne = new long[dims];
            for (int d = 0; d < dims; d++) {
                ne[d] = file.getLong();
            }
            tensors.put(name, new TensorInfo(name, ne, file.getInt(), file.getLong()));
        }
        alignment = metadata.containsKey("general.alignment") ? ((Long) metadata.get("general.alignment")).intValue() : 32;
        dataStart = (file.position() + alignment - 1) / alignment * alignment;
        for (TensorInfo t : tensors.values()) {
            if (t.offset() % alignment != 0) {
                throw new IOException(t.name() + " is not aligned to " + alignment);
            }
            if (dataStart + t.offset() + bytes(t) > file.capacity()) {
                throw new IOException(t.name() + " runs past the end of the file");
            }
        }
    }

    /** Bytes of a tensor by its type (F32 0, F16 1, Q4_0 2, Q8_0 8, BF16 30). */
    static long bytes(TensorInfo t) {
        long n = 1;
        for (long d : t.ne()) {
            n *= d;
        }
        return switch (t.type()) {
            case 0 -> 4 * n;
            case 1, 30 -> 2 * n;
            case 2 -> n / 32 * 18;
            case 8 -> n / 32 * 34;
            default -> throw new IllegalArgumentException("type " + t.type());
        };
    }

    byte[] data(String name) {
        TensorInfo t = tensors.get(name);
        byte[] out = new byte[(int) bytes(t)];
        file.get((int) (dataStart + t.offset()), out);
        return out;
    }

    private String string() {
        byte[] b = new byte[(int) file.getLong()];
        file.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private Object value(int type) {
        return switch (type) {
            case 0 -> (long) Byte.toUnsignedInt(file.get());
            case 1 -> (long) file.get();
            case 2 -> (long) Short.toUnsignedInt(file.getShort());
            case 3 -> (long) file.getShort();
            case 4 -> Integer.toUnsignedLong(file.getInt());
            case 5 -> (long) file.getInt();
            case 6 -> file.getFloat();
            case 7 -> file.get() != 0;
            case 8 -> string();
            case 9 -> {
                int elementType = file.getInt();
                long n = file.getLong();
                List<Object> list = new ArrayList<>();
                for (long i = 0; i < n; i++) {
                    list.add(value(elementType));
                }
                yield list;
            }
            case 10, 11 -> file.getLong();
            case 12 -> file.getDouble();
            default -> throw new IllegalArgumentException("metadata type " + type);
        };
    }
}
