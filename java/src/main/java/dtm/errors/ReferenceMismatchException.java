package dtm.errors;

import java.util.List;

/**
 * A reference (cached base continuations and statistics) was made with other settings than
 * those asked for: another base model or tokenizer, another N, top-k, stop-at-EOS or prompt
 * set. The message names every difference; {@link #differences()} lists them one by one.
 * Nothing was overwritten. Status INVALID_ARGUMENT.
 */
public class ReferenceMismatchException extends DtmException {
    private static final long serialVersionUID = 1L;

    private final List<String> differences;

    /**
     * @param message     the whole message
     * @param differences one entry per setting that differs, e.g. "N: 32 in the file, 100 asked"
     */
    public ReferenceMismatchException(String message, List<String> differences) {
        super(Status.INVALID_ARGUMENT, message);
        this.differences = List.copyOf(differences);
    }

    /** One entry per setting that differs. */
    public List<String> differences() {
        return differences;
    }
}
