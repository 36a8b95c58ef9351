package dtm.cli;

import dtm.data.DefaultModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line: exit codes, messages, and generation with the default model. */
class CliTest {
    private static DefaultModel.ModelFiles files;

    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @BeforeAll
    static void fetch() throws IOException {
        files = DefaultModel.fetch();
    }

    private String out() {
        return console.out();
    }

    private String err() {
        return console.err();
    }

    @Test
    void generatePrintsThePromptAndItsContinuation() {
        int code = Main.run("generate", "-n", "20", "--threads", "2", "--model", files.model().toString(),
                "Once upon a time");
        assertEquals(0, code, err());
        String printed = out();
        assertTrue(printed.startsWith("Once upon a time"), printed);
        assertTrue(printed.endsWith("\n"));
        assertTrue(printed.length() > "Once upon a time".length() + 20, printed);
    }

    @Test
    void everyKernelPathPrintsTheSameText() {
        assertEquals(0, Main.run("generate", "-n", "12", "--isa", "scalar", "--model", files.model().toString(),
                "Lily and Ben"), err());
        String scalar = out();
        console.resetOut();
        assertEquals(0, Main.run("generate", "-n", "12", "--isa", "auto", "--model", files.model().toString(),
                "Lily and Ben"), err());
        assertEquals(scalar, out());
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertEquals(2, Main.run());
        assertEquals(2, Main.run("generate"));
        assertEquals(2, Main.run("generate", ""));
        assertEquals(2, Main.run("generate", "--isa", "sse9", "x"));
        assertEquals(2, Main.run("generate", "-n", "many", "x"));
        assertEquals(2, Main.run("frobnicate"));
        assertTrue(err().contains("Usage: dtm"), err());
    }

    @Test
    void errorsExitWithOneAndOneLine() throws IOException {
        Path missing = tmp.resolve("missing.bin");
        assertEquals(1, Main.run("generate", "--model", missing.toString(), "Hello"));
        String message = err();
        assertTrue(message.startsWith("dtm: cannot load model " + missing), message);
        assertEquals(1, message.strip().lines().count(), message);

        console.resetErr();
        Path garbage = tmp.resolve("garbage.bin");
        Files.write(garbage, new byte[64]);
        assertEquals(1, Main.run("generate", "--model", garbage.toString(),
                "--tokenizer", files.tokenizer().toString(), "Hello"));
        assertEquals(1, err().strip().lines().count(), err());

        console.resetErr();
        assertEquals(1, Main.run("generate", "--verbose", "--model", missing.toString(), "Hello"));
        assertTrue(err().contains("at dtm."), "--verbose shows the stack trace");
    }

    @Test
    void tooLongAGenerationIsAnError() {
        assertEquals(1, Main.run("generate", "-n", "300", "--model", files.model().toString(), "Hello"));
        assertTrue(err().startsWith("dtm: "), err());
        assertFalse(out().contains("Hello"));
    }

    @Test
    void helpAndVersionExitWithZero() {
        assertEquals(0, Main.run("--help"));
        assertEquals(0, Main.run("generate", "--help"));
        assertTrue(out().contains("--isa"), out());
        assertEquals(0, Main.run("--version"));
        assertTrue(out().contains("engine"), out());
    }

    @Test
    void infoPrintsComponentsAsTextOrJson() {
        assertEquals(0, Main.run("info", "--model", files.model().toString()), err());
        assertTrue(out().contains("model.layers.5.mlp.down_proj"), out());
        console.resetOut();
        assertEquals(0, Main.run("info", "--json", "--model", files.model().toString()), err());
        assertTrue(out().contains("\"vocabSize\" : 32000"), out());
    }
}
