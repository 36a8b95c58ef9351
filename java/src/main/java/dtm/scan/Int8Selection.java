package dtm.scan;

import dtm.compress.Plan;

import java.util.List;
import java.util.Objects;

/**
 * The result of the FDT-guided int8 search ({@link Int8Search#select}).
 *
 * @param options  how it searched
 * @param order    the components, most robust to naive int8 first
 * @param selected how many of them, from the front of {@code order}, are naively quantized
 * @param checks   every prefix evaluated, in the order evaluated
 * @param plan     the first {@code selected} components naive int8, the rest the fallback (or
 *                 absent: left in floating point); every entry carries its evidence
 */
public record Int8Selection(Int8Search.Options options, List<RankedComponent> order, int selected,
                            List<Int8Search.PrefixCheck> checks, Plan plan) {
    public Int8Selection {
        Objects.requireNonNull(options, "options");
        order = List.copyOf(order);
        checks = List.copyOf(checks);
        Objects.requireNonNull(plan, "plan");
        if (selected < 0 || selected > order.size()) {
            throw new IllegalArgumentException("selected must be in [0, " + order.size() + "], got " + selected);
        }
    }

    /** Parameters naively quantized. */
    public long selectedParameters() {
        long p = 0;
        for (int i = 0; i < selected; i++) {
            p += order.get(i).parameters();
        }
        return p;
    }

    /** The check of a prefix length, or null when that length was not evaluated. */
    public Int8Search.PrefixCheck check(int length) {
        for (Int8Search.PrefixCheck c : checks) {
            if (c.length() == length) {
                return c;
            }
        }
        return null;
    }
}
