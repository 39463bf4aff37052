package dev.skiff.gateway.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The fn CLI's credentials file, which the first start writes the new admin token into. One
 * {@code <gateway URL> <token>} per line, {@code default} standing for any gateway without a line
 * of its own; {@code #} starts a comment. The CLI ({@code dev.skiff.cli.Credentials}) reads it;
 * plain lines so that a script can read it too ({@code awk '$1=="default"{print $2}'}).
 * Lines for other gateways are kept; the file is rewritten with mode 0600.
 */
final class CredentialsFile {
    static final String DEFAULT = "default";

    private CredentialsFile() {}

    /** Sets the token of each key (a gateway URL or {@value #DEFAULT}), keeping every other line. */
    static void put(Path file, Map<String, String> tokens) throws IOException {
        List<String> lines = new ArrayList<>();
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String[] words = line.strip().split("\\s+");
                if (!line.strip().startsWith("#") && tokens.containsKey(words[0])) continue;
                lines.add(line);
            }
        } else {
            lines.add("# Skiff API tokens for the fn CLI: <gateway URL> <token>; 'default' is for any other gateway.");
        }
        lines.add("# written by Skiff's first start, " + Instant.now());
        tokens.forEach((key, token) -> lines.add(key + " " + token));
        TokenStore.writePrivately(file, String.join("\n", lines) + "\n");
    }
}
