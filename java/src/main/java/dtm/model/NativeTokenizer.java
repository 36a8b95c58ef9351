package dtm.model;

import dtm.bindings.Dtm;
import dtm.engine.Errors;
import dtm.engine.NativeText;
import dtm.errors.Status;
import org.bytedeco.javacpp.BytePointer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The tokenizer of a llama2.c model (tokenizer.bin, SentencePiece-BPE), run by the engine: a
 * view on the model, usable while the model is open, from any thread.
 *
 * <p>Text is UTF-8. {@link #encode} adds a leading space to non-empty text, as llama2.c does;
 * {@link #decode} drops the space after BOS and prints byte tokens as their byte, so decoding
 * BOS + encode(text) gives back the text.
 */
public final class NativeTokenizer implements Tokenizer {
    private final Model model;
    private final ModelConfig config;

    NativeTokenizer(Model model, ModelConfig config) {
        this.model = model;
        this.config = config;
    }

    /** Tokens in the vocabulary. */
    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    /** The begin-of-sequence token. */
    @Override
    public int bos() {
        return config.bosId();
    }

    /** The end-of-sequence token. */
    @Override
    public int eos() {
        return config.eosId();
    }

    /** The tokens of {@code text}, BOS first when {@code bos}. */
    @Override
    public int[] encode(String text, boolean bos) {
        Objects.requireNonNull(text, "text");
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        return model.use(handle -> {
            try (BytePointer native8 = NativeText.of(utf8)) {
                int[] count = new int[1];
                // At most one token per byte, plus the leading space and BOS.
                int[] tokens = new int[utf8.length + 3];
                int status = Dtm.dtm_tokenize(handle, native8, utf8.length, bos ? 1 : 0,
                        tokens, tokens.length, count);
                if (status == Status.BUFFER_TOO_SMALL.code()) {
                    tokens = new int[count[0]];
                    status = Dtm.dtm_tokenize(handle, native8, utf8.length, bos ? 1 : 0,
                            tokens, tokens.length, count);
                }
                Errors.check(status, () -> "cannot tokenize " + utf8.length + " bytes of text");
                return count[0] == tokens.length ? tokens : Arrays.copyOf(tokens, count[0]);
            }
        });
    }

    /** The UTF-8 text of {@code tokens}, as llama2.c prints them. */
    @Override
    public String decode(int[] tokens) {
        return new String(decodeBytes(tokens), StandardCharsets.UTF_8);
    }

    /** The raw bytes of {@code tokens} (byte tokens may form partial UTF-8 sequences). */
    @Override
    public byte[] decodeBytes(int[] tokens) {
        Objects.requireNonNull(tokens, "tokens");
        if (tokens.length == 0) {
            return new byte[0];
        }
        return model.use(handle -> {
            int[] count = new int[1];
            byte[] text = new byte[tokens.length * 8 + 16];
            int status = Dtm.dtm_detokenize(handle, tokens, tokens.length, text, text.length, count);
            if (status == Status.BUFFER_TOO_SMALL.code()) {
                text = new byte[count[0]];
                status = Dtm.dtm_detokenize(handle, tokens, tokens.length, text, text.length, count);
            }
            Errors.check(status, () -> "cannot decode " + tokens.length + " tokens");
            return count[0] == text.length ? text : Arrays.copyOf(text, count[0]);
        });
    }

    /** The vocabulary entry of a token as stored, decoded as UTF-8 (may be empty). */
    @Override
    public String piece(int token) {
        return new String(pieceBytes(token), StandardCharsets.UTF_8);
    }

    /** The vocabulary entry of a token as stored, raw bytes. */
    @Override
    public byte[] pieceBytes(int token) {
        return model.use(handle -> {
            int[] count = new int[1];
            byte[] text = new byte[64];
            int status = Dtm.dtm_token_piece(handle, token, text, text.length, count);
            if (status == Status.BUFFER_TOO_SMALL.code()) {
                text = new byte[count[0]];
                status = Dtm.dtm_token_piece(handle, token, text, text.length, count);
            }
            Errors.check(status, () -> "cannot read the piece of token " + token);
            return Arrays.copyOf(text, count[0]);
        });
    }

    /** The merge score of a token in tokenizer.bin (higher merges first). */
    public float score(int token) {
        return model.use(handle -> {
            float[] out = new float[1];
            Errors.check(Dtm.dtm_token_score(handle, token, out), () -> "cannot read the score of token " + token);
            return out[0];
        });
    }
}
