package dtm.metrics;

import dtm.errors.ContextOverflowException;
import dtm.model.EvalInput;
import dtm.model.EvalOutput;
import dtm.model.Model;
import dtm.model.Session;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Perplexity of a model on ground-truth text in the convention of llama.cpp's perplexity tool
 * (DESIGN §1), so that figures compare with it: the whole text is tokenized once with BOS (as
 * it is: no line-end normalization); the tokens are cut into consecutive windows of n_ctx
 * tokens, the incomplete tail dropped; each window's first token is set to BOS; in each window
 * the predictions of tokens n_ctx/2+1 … n_ctx−1 are scored (n_ctx/2 − 1 tokens per window for
 * an even n_ctx, 127 for 256). PPL = exp(mean NLL over all scored tokens).
 *
 * <p>Computed with the teacher-forced evaluation: each window is a sample whose prompt is
 * window[0 .. n_ctx/2] and whose continuation is window[n_ctx/2+1 .. n_ctx−1]. (llama.cpp
 * itself refuses texts shorter than two windows; dtm needs one.)
 */
public final class TextPerplexity {
    private TextPerplexity() {
    }

    /** Perplexity with windows of the model's context, default run options. */
    public static PerplexityResult of(Model model, String text) {
        return of(model, text, 0, RunOptions.defaults());
    }

    /**
     * Perplexity of {@code model} on {@code text}.
     *
     * @param context n_ctx, tokens per window, at least 4; 0 = the model's context
     * @throws IllegalArgumentException the text has fewer tokens than one window
     * @throws ContextOverflowException n_ctx is larger than the model's context
     */
    public static PerplexityResult of(Model model, String text, int context, RunOptions run) {
        return of(model, text, context, 0, run);
    }

    /**
     * {@link #of(Model, String, int, RunOptions)} over the first {@code maxWindows} windows of
     * the text only (0 = all): a cheaper figure for comparing candidates on one text.
     */
    public static PerplexityResult of(Model model, String text, int context, int maxWindows, RunOptions run) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(text, "text");
        return of(model, model.tokenizer().encode(text, true), context, maxWindows, run);
    }

    /**
     * {@link #of(Model, String, int, int, RunOptions)} over text already tokenized with BOS by
     * the model's tokenizer: for measuring many candidates of one base on one text.
     */
    public static PerplexityResult of(Model model, int[] tokens, int context, int maxWindows, RunOptions run) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(run, "run");
        int max = model.config().maxSeqLen();
        int ctx = context == 0 ? max : context;
        if (ctx < 4) {
            throw new IllegalArgumentException("the window n_ctx must be at least 4 tokens, got " + ctx);
        }
        if (ctx > max) {
            throw new ContextOverflowException("a window of n_ctx = " + ctx + " tokens is longer than the context of "
                    + model.path().getFileName() + " (" + max + " tokens)");
        }
        if (maxWindows < 0) {
            throw new IllegalArgumentException("the window limit must be >= 0 (0 = all), got " + maxWindows);
        }
        int windows = tokens.length / ctx;
        if (maxWindows > 0) {
            windows = Math.min(windows, maxWindows);
        }
        if (windows == 0) {
            throw new IllegalArgumentException("the text has " + tokens.length + " tokens (BOS included), fewer than "
                    + "one window of n_ctx = " + ctx + ": give a longer text or a smaller window");
        }
        int first = ctx / 2;             // the last prompt token of each window
        int promptLen = first + 1;       // window[0 .. first]
        int contLen = ctx - first - 1;   // window[first+1 .. ctx-1]
        int bos = model.tokenizer().bos();
        double[] windowNll = new double[windows];
        long start = System.nanoTime();
        run.progress().update("perplexity", 0, windows);
        try (Session session = model.newSession(run.session())) {
            for (int from = 0; from < windows; from += run.chunkSamples()) {
                int to = Math.min(windows, from + run.chunkSamples());
                int count = to - from;
                int[] flat = new int[count * ctx];
                System.arraycopy(tokens, from * ctx, flat, 0, count * ctx);
                int[] promptLens = new int[count];
                int[] contLens = new int[count];
                for (int w = 0; w < count; w++) {
                    flat[w * ctx] = bos;
                    promptLens[w] = promptLen;
                    contLens[w] = contLen;
                }
                EvalOutput out = session.evaluate(new EvalInput(flat, promptLens, contLens, null, 0, null, null),
                        null, false, 0);
                for (int w = 0; w < count; w++) {
                    windowNll[from + w] = out.nll()[w];
                }
                run.progress().update("perplexity", to, windows);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double sum = 0;
        for (double v : windowNll) {
            sum += v;
        }
        double nll = sum / windows; // every window scores the same number of tokens
        return new PerplexityResult(model.path().toString(), ctx, tokens.length, windows, (long) windows * contLen,
                nll, Math.exp(nll), windowNll, seconds);
    }

    /** {@link #of(Model, String, int, RunOptions)} over a UTF-8 text file. */
    public static PerplexityResult ofFile(Model model, Path file, int context, RunOptions run) throws IOException {
        Objects.requireNonNull(file, "file");
        return of(model, Files.readString(file), context, run);
    }
}
