package dtm.model;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A model's tokenizer: {@link NativeTokenizer} (llama2.c's tokenizer.bin, run by the engine)
 * for a llama2.c model, {@link HfTokenizer} (tokenizer.json, run by Hugging Face's tokenizers
 * library) for a Hugging Face checkpoint. Usable while its model is open, from any thread.
 *
 * <p>Text is UTF-8. Decoding prints what the model writes: special tokens (BOS, EOS) print
 * nothing, and decoding BOS + encode(text) gives back the text.
 */
public interface Tokenizer {

    /** Tokens in the vocabulary. */
    int vocabSize();

    /** The begin-of-sequence token, or -1 when the tokenizer has none. */
    int bos();

    /** The end-of-sequence token, or -1 when the tokenizer has none. */
    int eos();

    /**
     * The tokens of {@code text}; with {@code bos}, the special tokens the tokenizer adds
     * around a text (BOS first for the Llama family; none for tokenizers without BOS).
     */
    int[] encode(String text, boolean bos);

    /** The UTF-8 text of {@code tokens}. */
    String decode(int[] tokens);

    /** The raw bytes of {@code tokens} (byte tokens may form partial UTF-8 sequences). */
    byte[] decodeBytes(int[] tokens);

    /** The vocabulary entry of a token as stored, decoded as UTF-8 (may be empty). */
    String piece(int token);

    /** The vocabulary entry of a token as stored, raw bytes. */
    byte[] pieceBytes(int token);

    /**
     * The text of {@code tokens} where they follow {@code context}: what a printer that has
     * already printed the context prints next (so the space after BOS is handled as in the
     * whole sequence).
     */
    default String decodeAfter(int[] context, int[] tokens) {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(tokens, "tokens");
        int[] all = Arrays.copyOf(context, context.length + tokens.length);
        System.arraycopy(tokens, 0, all, context.length, tokens.length);
        byte[] whole = decodeBytes(all);
        byte[] head = decodeBytes(context);
        if (head.length <= whole.length
                && Arrays.equals(whole, 0, head.length, head, 0, head.length)) {
            return new String(whole, head.length, whole.length - head.length, StandardCharsets.UTF_8);
        }
        return decode(tokens);
    }
}
