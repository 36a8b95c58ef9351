package dtm.metrics;

import java.util.Locale;

/** How the KL divergence KL(F || F') of an evaluation was computed. */
public enum KlMode {
    /** The base ran in the same pass: exact over the whole vocabulary. */
    EXACT("exact"),
    /**
     * From the reference's cached top-k of the base, the rest of the base's probability mass
     * lumped into one bin against the candidate's mass outside those k tokens: a lower bound
     * of the exact value (log-sum inequality).
     */
    APPROXIMATE("approximate (base top-k, tail lumped; a lower bound)"),
    /** No base information: KL is NaN (JSON null). */
    NONE("none");

    private final String label;

    KlMode(String label) {
        this.label = label;
    }

    /** Lower-case name, as JSON spells it: exact, approximate, none. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** What it means, for people. */
    public String label() {
        return label;
    }
}
