package dtm.errors;

/**
 * A prompt set cannot be used: it is empty, a file of prompts is malformed (the message names
 * the line), a text is too short for the prompts asked of it, or the set was made for another
 * tokenizer. Status INVALID_ARGUMENT; found by Java, so {@link #nativeMessage()} is empty.
 */
public class InvalidPromptSetException extends DtmException {
    private static final long serialVersionUID = 1L;

    public InvalidPromptSetException(String message) {
        super(Status.INVALID_ARGUMENT, message);
    }
}
