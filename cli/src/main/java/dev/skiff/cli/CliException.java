package dev.skiff.cli;

/**
 * A failure to report to the user as {@code fn: <message>}.
 * Usage errors (bad arguments) exit with 2 and are followed by the command's usage line;
 * everything else exits with 1.
 */
final class CliException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int exitCode;

    CliException(String message) {
        this(message, 1);
    }

    private CliException(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    static CliException usage(String message) {
        return new CliException(message, 2);
    }

    int exitCode() {
        return exitCode;
    }

    boolean isUsage() {
        return exitCode == 2;
    }
}
