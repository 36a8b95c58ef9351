package dtm.cli;

import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Checks an output path before a command writes to it, so that no command destroys its own input
 * or a file it did not write. Refused, with one line naming the path and why:
 * <ul>
 *   <li>an input of the same command: the same file after resolving links, for a directory output
 *       a directory holding an input, and for any output an existing file inside a checkpoint
 *       directory the command reads;</li>
 *   <li>a path that exists and is not a regular file (for a directory output: not a directory),
 *       such as a device node or a FIFO;</li>
 *   <li>an existing file, or non-empty directory, that is not dtm's own output of that kind
 *       ({@link OutputKind#isOwn}), unless --force.</li>
 * </ul>
 */
final class OutputGuard {
    /** A path the command reads, and the option that named it ("--model", or "the default model"). */
    record Input(String option, Path path) {
        /** "the --model input", or the option text itself when it names no option. */
        String describe() {
            return option.startsWith("-") ? "the " + option + " input" : option;
        }
    }

    private final List<Input> inputs;
    private final boolean force;

    private OutputGuard(List<Input> inputs, boolean force) {
        this.inputs = inputs;
        this.force = force;
    }

    /**
     * A guard for the command {@code spec}: its inputs are the paths given to its matched options
     * other than {@code outputOptions}, and {@code more} (models loaded by default, say).
     */
    static OutputGuard of(CommandSpec spec, ForceOption force, List<String> outputOptions, Input... more) {
        List<Input> inputs = new ArrayList<>();
        for (ParseResult p = spec.commandLine().getParseResult(); p != null; p = p.subcommand()) {
            for (ArgSpec arg : p.matchedArgs()) {
                String name = arg.isOption() ? ((picocli.CommandLine.Model.OptionSpec) arg).longestName()
                        : arg.paramLabel();
                if (arg.isOption() && outputOptions.contains(name)) {
                    continue;
                }
                Object value = arg.getValue();
                if (value instanceof Path path) {
                    inputs.add(new Input(name, path));
                } else if (value instanceof Iterable<?> values) {
                    for (Object v : values) {
                        if (v instanceof Path path) {
                            inputs.add(new Input(name, path));
                        }
                    }
                }
            }
        }
        inputs.addAll(List.of(more));
        return new OutputGuard(inputs, force != null && force.force);
    }

    /** This guard with {@code more} inputs, e.g. a file found only once the command has run a while. */
    OutputGuard and(Input... more) {
        List<Input> all = new ArrayList<>(inputs);
        all.addAll(List.of(more));
        return new OutputGuard(all, force);
    }

    /**
     * Checks {@code out} for an output of {@code kind}; returns the path to write: {@code out}, or
     * the file a symbolic link at {@code out} points to, so that the link stays a link.
     */
    Path check(Path out, OutputKind kind) throws IOException {
        Path absolute = out.toAbsolutePath().normalize();
        boolean exists = Files.exists(absolute);
        Path resolved = exists ? absolute.toRealPath() : realParent(absolute);
        for (Input input : inputs) {
            String why = clash(resolved, exists, kind, input);
            if (why != null) {
                throw new RefusedOutputException(out, why);
            }
        }
        if (!exists) {
            if (Files.isSymbolicLink(absolute)) {
                throw new RefusedOutputException(out, "it is a symbolic link to nothing");
            }
            return absolute;
        }
        if (kind.isDirectory()) {
            if (!Files.isDirectory(resolved)) {
                throw new RefusedOutputException(out, "it is " + typeOf(resolved) + ", not a directory");
            }
            if (!force && !isEmpty(resolved) && !kind.isOwn(resolved)) {
                throw new RefusedOutputException(out, "the directory is not empty and is not a " + kind.description()
                        + "; give --force to write into it");
            }
        } else {
            if (!Files.isRegularFile(resolved)) {
                throw new RefusedOutputException(out, "it is " + typeOf(resolved) + ", not a regular file");
            }
            if (!force && !kind.isOwn(resolved)) {
                throw new RefusedOutputException(out, "it exists and is not a " + kind.description()
                        + "; give --force to replace it");
            }
        }
        return resolved;
    }

    /** Why writing {@code out} would destroy {@code input}, or null. */
    private static String clash(Path out, boolean exists, OutputKind kind, Input input) throws IOException {
        Path in = input.path().toAbsolutePath().normalize();
        if (!Files.exists(in)) {
            return null;
        }
        Path inReal = in.toRealPath();
        if (inReal.equals(out)) {
            return "it is " + input.describe() + " of this command";
        }
        if (kind.isDirectory() && inReal.startsWith(out)) {
            return "the directory holds " + in + ", " + input.describe() + " of this command";
        }
        if (exists && Files.isDirectory(inReal) && out.startsWith(inReal)) {
            return "it lies in " + in + ", " + input.describe() + " of this command";
        }
        return null;
    }

    /** The real path of {@code path}'s parent joined with its file name (the parent may not exist yet). */
    private static Path realParent(Path path) throws IOException {
        Path parent = path.getParent();
        Path existing = parent;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return path;
        }
        return existing.toRealPath().resolve(existing.relativize(path));
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }

    /** "a directory", "a FIFO or device", for messages. */
    private static String typeOf(Path path) {
        if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            return "a directory";
        }
        if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
            return "a regular file";
        }
        return "a device, FIFO or socket";
    }
}
