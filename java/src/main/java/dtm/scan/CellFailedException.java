package dtm.scan;

/**
 * A scan cell that could not be evaluated: the message names the component and the setting and
 * says why; the cause is the original error. A failing cell fails the scan (never skipped).
 */
public final class CellFailedException extends RuntimeException {
    private final String component;
    private final String setting;

    public CellFailedException(String component, String setting, Throwable cause) {
        super("scan cell " + component + " x " + setting + " failed: " + cause.getMessage(), cause);
        this.component = component;
        this.setting = setting;
    }

    /** A failure reported from elsewhere (a cluster task), with the message it gave. */
    public CellFailedException(String component, String setting, String message) {
        super("scan cell " + component + " x " + setting + " failed: " + message);
        this.component = component;
        this.setting = setting;
    }

    /** The component of the cell. */
    public String component() {
        return component;
    }

    /** The setting of the cell, in {@link dtm.model.Compression}'s text form. */
    public String setting() {
        return setting;
    }
}
