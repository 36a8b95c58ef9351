package dtm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dtm.metrics.Reference;
import dtm.report.ReportWriter;
import dtm.report.ScanJson;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a command writes, and how dtm recognizes an earlier output of the same kind, which it
 * replaces without --force. A model file dtm wrote carries the metadata key {@value #WRITER_KEY}
 * (cpp/src/core/version.h); the other kinds are recognized by their magic bytes, schema or header.
 */
enum OutputKind {
    /** A candidate file of {@code dtm compress}: safetensors with {@code dtm.candidate} metadata. */
    CANDIDATE("dtm candidate file", false) {
        @Override
        boolean isOwn(Path file) throws IOException {
            JsonNode metadata = safetensorsMetadata(file);
            return metadata != null && metadata.has("dtm.candidate");
        }
    },
    /** A reference file (magic bytes 0x89 "DTMREF\n"). */
    REFERENCE("dtm reference file", false) {
        @Override
        boolean isOwn(Path file) throws IOException {
            return Reference.isReferenceFile(file);
        }
    },
    /** The per-sample CSV of {@code dtm eval --csv}. */
    SAMPLE_CSV("dtm per-sample CSV", false) {
        @Override
        boolean isOwn(Path file) throws IOException {
            try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                return EvalCommand.SAMPLE_CSV_HEADER.equals(r.readLine());
            } catch (java.nio.charset.CharacterCodingException e) {
                return false;
            }
        }
    },
    /** A GGUF file of {@code dtm export}, carrying the key {@value #WRITER_KEY}. */
    GGUF("GGUF file written by dtm", false) {
        @Override
        boolean isOwn(Path file) throws IOException {
            return ggufHasWriterKey(file);
        }
    },
    /** A checkpoint directory of {@code dtm export --format hf} or {@code dtm convert}. */
    CHECKPOINT_DIRECTORY("checkpoint directory written by dtm", true) {
        @Override
        boolean isOwn(Path dir) throws IOException {
            Path weights = dir.resolve("model.safetensors");
            if (!Files.isRegularFile(weights)) {
                return false;
            }
            JsonNode metadata = safetensorsMetadata(weights);
            return metadata != null && metadata.has(WRITER_KEY);
        }
    },
    /** The report directory of {@code dtm scan} and {@code dtm plan}. */
    REPORT_DIRECTORY("dtm report directory", true) {
        @Override
        boolean isOwn(Path dir) throws IOException {
            if (Files.isRegularFile(dir.resolve(ScanOptions.CHECKPOINT_FILE))) {
                return true;
            }
            Path json = dir.resolve(ReportWriter.JSON_FILE);
            if (!Files.isRegularFile(json)) {
                return false;
            }
            try {
                JsonNode schema = JSON.readTree(json.toFile()).get("schema");
                return schema != null && ScanJson.SCHEMA.equals(schema.asText());
            } catch (IOException e) {
                return false;
            }
        }
    };

    /** The metadata key marking a model file dtm wrote (cpp/src/core/version.h). */
    static final String WRITER_KEY = "dtm.writer";

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Longest safetensors header read when recognizing a file (dtm's are far shorter). */
    private static final long MAX_HEADER_BYTES = 100L << 20;
    /** GGUF metadata entries looked at before giving up; dtm writes its key second. */
    private static final long MAX_GGUF_KEYS = 64;

    private final String description;
    private final boolean directory;

    OutputKind(String description, boolean directory) {
        this.description = description;
        this.directory = directory;
    }

    /** What the output is, for messages: "dtm candidate file". */
    String description() {
        return description;
    }

    /** Whether the output is a directory (else a regular file). */
    boolean isDirectory() {
        return directory;
    }

    /** Whether {@code path}, which exists and is of the right type, is an earlier dtm output of this kind. */
    abstract boolean isOwn(Path path) throws IOException;

    /** The __metadata__ object of a safetensors file, or null when it is none or has none. */
    private static JsonNode safetensorsMetadata(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] length = in.readNBytes(8);
            if (length.length < 8) {
                return null;
            }
            long n = ByteBuffer.wrap(length).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (n <= 1 || n > MAX_HEADER_BYTES || n > Files.size(file) - 8) {
                return null;
            }
            byte[] header = in.readNBytes((int) n);
            JsonNode root = JSON.readTree(header);
            return root != null ? root.get("__metadata__") : null;
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            return null;
        }
    }

    /** Whether a GGUF file holds the key {@value #WRITER_KEY} among its first metadata entries. */
    private static boolean ggufHasWriterKey(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file)))) {
            if (in.readInt() != 0x47475546) { // "GGUF"
                return false;
            }
            in.skipNBytes(4 + 8); // version, tensor count
            long keys = Long.reverseBytes(in.readLong());
            for (long i = 0; i < Math.min(keys, MAX_GGUF_KEYS); i++) {
                String key = ggufString(in);
                int type = Integer.reverseBytes(in.readInt());
                if (key.equals(WRITER_KEY)) {
                    return type == GGUF_STRING && ggufString(in).startsWith("dtm ");
                }
                skipGgufValue(in, type);
            }
            return false;
        } catch (EOFException | IllegalArgumentException e) {
            return false;
        }
    }

    private static final int GGUF_STRING = 8;
    private static final int GGUF_ARRAY = 9;

    private static String ggufString(DataInputStream in) throws IOException {
        long n = Long.reverseBytes(in.readLong());
        if (n < 0 || n > 1 << 16) {
            throw new IllegalArgumentException("not a key");
        }
        return new String(in.readNBytes((int) n), StandardCharsets.UTF_8);
    }

    private static void skipGgufValue(DataInputStream in, int type) throws IOException {
        if (type == GGUF_STRING) {
            in.skipNBytes(Long.reverseBytes(in.readLong()));
        } else if (type == GGUF_ARRAY) {
            int elementType = Integer.reverseBytes(in.readInt());
            long count = Long.reverseBytes(in.readLong());
            for (long i = 0; i < count; i++) {
                skipGgufValue(in, elementType);
            }
        } else {
            in.skipNBytes(ggufScalarBytes(type));
        }
    }

    /** Bytes of a GGUF scalar: uint8..int64, float32/64, bool (GGUF spec value types 0-7, 10-12). */
    private static int ggufScalarBytes(int type) {
        return switch (type) {
            case 0, 1, 7 -> 1;
            case 2, 3 -> 2;
            case 4, 5, 6 -> 4;
            case 10, 11, 12 -> 8;
            default -> throw new IllegalArgumentException("not a GGUF value type: " + type);
        };
    }
}
