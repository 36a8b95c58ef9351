package dtm.model;

import java.util.Objects;

/**
 * A greedy continuation of a text prompt.
 *
 * @param prompt       the prompt as given
 * @param promptTokens the prompt's tokens, BOS first
 * @param tokens       the generated tokens
 * @param text         the generated text alone (what follows the prompt's text)
 */
public record Generation(String prompt, int[] promptTokens, int[] tokens, String text) {
    public Generation {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(promptTokens, "promptTokens");
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(text, "text");
    }
}
