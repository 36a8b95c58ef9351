package de.kherud.llama;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Completion requests whose prompt is a list of token ids, so that llama.cpp sees exactly the
 * tokens dtm saw. llama.cpp's server code inside the binding takes a JSON array of ids as
 * "prompt" (and then adds no BOS of its own), but InferenceParameters only sets a text prompt;
 * this class lives in the binding's package to put the array into the request's JSON parameters
 * (a package-private map of the binding).
 */
public final class TokenPrompts {
    private TokenPrompts() {
    }

    /**
     * A greedy completion of {@code n} tokens after {@code tokens} (BOS included by the caller),
     * not stopping at EOS: temperature 0 keeps only the largest logit (the lowest id on a tie).
     */
    public static InferenceParameters greedy(int[] tokens, int n) {
        InferenceParameters p = new InferenceParameters("").setTemperature(0f).setNPredict(n).setIgnoreEos(true)
                .setRepeatPenalty(1f).setFrequencyPenalty(0f).setPresencePenalty(0f).setCachePrompt(false);
        p.parameters.put("prompt", Arrays.stream(tokens).mapToObj(Integer::toString)
                .collect(Collectors.joining(", ", "[", "]")));
        return p;
    }

    /**
     * Tokens a streamed completion of {@code request} produces: its outputs without the final
     * stop message (whose flag is package-private in the binding).
     */
    public static int streamedTokens(LlamaModel model, InferenceParameters request) {
        int n = 0;
        for (LlamaOutput output : model.generate(request)) {
            if (!output.stop) {
                n++;
            }
        }
        return n;
    }
}
