package dev.skiff.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Tells whether a standard stream of this process is a terminal ({@code test -t FD}).
 *
 * <p>On Linux this resolves {@code /proc/self/fd/FD}: a terminal shows up as {@code /dev/pts/N},
 * {@code /dev/ttyX} or {@code /dev/console}; a pipe as {@code pipe:[N]}, a redirected file as its path.
 * Where {@code /proc} is not available (macOS), it falls back to {@code System.console() != null}, which on
 * Java 21 means "both stdin and stdout are terminals". {@link System#console()} alone is not used on Linux
 * because newer JDKs return a console even when the streams are redirected.
 */
final class Terminal {
    private Terminal() {
    }

    static boolean isTerminal(int fd) {
        Path link = Path.of("/proc/self/fd/" + fd);
        try {
            String target = Files.readSymbolicLink(link).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return System.console() != null;
        }
    }
}
