package dtm.cli;

import dtm.errors.DtmException;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;

/**
 * Entry point of the {@code dtm} command. Exit codes: 0 success, 1 an error (a one-line
 * message; the stack trace too with --verbose), 2 a usage error.
 */
public final class Main {
    /** Exit code of a failed command. */
    public static final int EXIT_ERROR = 1;
    /** Exit code of a command line that could not be parsed. */
    public static final int EXIT_USAGE = 2;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (without exiting). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** The configured command line. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new DtmCommand());
        cli.setExecutionExceptionHandler(Main::handleFailure);
        cli.getCommandSpec().exitCodeOnInvalidInput(EXIT_USAGE);
        cli.getCommandSpec().exitCodeOnExecutionException(EXIT_ERROR);
        cli.setUsageHelpAutoWidth(true);
        return cli;
    }

    private static int handleFailure(Exception failure, CommandLine command, ParseResult parsed) {
        PrintWriter err = command.getErr();
        err.println("dtm: " + describe(failure));
        if (verbose(parsed)) {
            failure.printStackTrace(err);
        }
        err.flush();
        return EXIT_ERROR;
    }

    /** One line saying what went wrong. */
    static String describe(Throwable failure) {
        Throwable shown = failure instanceof UncheckedIOException && failure.getCause() != null
                ? failure.getCause() : failure;
        String message;
        if (shown instanceof NoSuchFileException) {
            message = "no such file: " + shown.getMessage();
        } else if (shown instanceof FileSystemException fs && fs.getReason() == null) {
            message = fileProblem(fs) + ": " + fs.getFile() + (fs.getOtherFile() != null ? " -> " + fs.getOtherFile() : "");
        } else if (shown instanceof DtmException || shown instanceof IOException
                || shown instanceof IllegalArgumentException || shown instanceof IllegalStateException) {
            message = shown.getMessage();
        } else {
            message = shown.toString();
        }
        if (message == null || message.isBlank()) {
            message = shown.getClass().getSimpleName();
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    /** What went wrong with a file, for an exception that names only the path. */
    private static String fileProblem(FileSystemException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        } else if (e instanceof FileAlreadyExistsException) {
            return "a file is in the way (it exists)";
        } else if (e instanceof NotDirectoryException) {
            return "not a directory";
        } else if (e instanceof DirectoryNotEmptyException) {
            return "directory not empty";
        } else if (e instanceof NotLinkException) {
            return "not a symbolic link";
        } else if (e instanceof FileSystemLoopException) {
            return "symbolic links loop";
        }
        return "cannot use the file";
    }

    private static boolean verbose(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }
}
