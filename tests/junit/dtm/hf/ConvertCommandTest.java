package dtm.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dtm.cli.Main;
import dtm.data.DefaultModel;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code dtm convert}, then {@code dtm generate --model DIR}: the same text as the original. */
class ConvertCommandTest {
    @TempDir
    Path dir;

    @Test
    void convertedDefaultModelGeneratesTheSameTextFromTheCommandLine() throws IOException {
        DefaultModel.fetch();
        Path out = dir.resolve("stories15M-hf");
        assertEquals(0, run("convert", "--out", out.toString()).code());
        for (String name : new String[] {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
            assertTrue(Files.isRegularFile(out.resolve(name)), name);
        }
        Result original = run("generate", "-n", "30", "--threads", "2", "Once upon a time");
        Result converted = run("generate", "-n", "30", "--threads", "2", "--model", out.toString(), "Once upon a time");
        assertEquals(0, converted.code(), converted.err());
        assertEquals(original.out(), converted.out());
    }

    private record Result(int code, String out, String err) { }

    private static Result run(String... args) {
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }
}
