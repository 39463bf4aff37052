package dev.skiff.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where the CLI's API token comes from: {@code --token}, else {@code SKIFF_TOKEN}, else the
 * credentials file ({@code $SKIFF_CREDENTIALS}, else {@code $HOME/.config/skiff/credentials}),
 * which Skiff's first start ({@code fn up}) writes on this machine: lines of
 * {@code <gateway URL> <token>}, the line for the gateway in use first, else the {@code default}
 * one; {@code #} starts a comment.
 */
final class Credentials {
    static final String FILE_ENV = "SKIFF_CREDENTIALS";

    /** The token (null when none was found) and, for messages, where it came from or where the CLI looked. */
    record Found(String token, String source) {}

    private Credentials() {
    }

    /** The credentials file for this environment, or null without HOME and SKIFF_CREDENTIALS. */
    static Path file(Map<String, String> env) {
        String explicit = env.get(FILE_ENV);
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit.strip());
        }
        String home = env.get("HOME");
        return home == null || home.isBlank() ? null : Path.of(home, ".config", "skiff", "credentials");
    }

    static Found find(String flag, Map<String, String> env, String gateway) {
        if (flag != null && !flag.isBlank()) {
            return new Found(flag.strip(), "--token");
        }
        String fromEnv = env.get("SKIFF_TOKEN");
        if (fromEnv != null && !fromEnv.isBlank()) {
            return new Found(fromEnv.strip(), "SKIFF_TOKEN");
        }
        Path file = file(env);
        String looked = "looked at --token, SKIFF_TOKEN and " + (file == null ? "a credentials file (no HOME set)" : file);
        if (file == null) {
            return new Found(null, looked);
        }
        String forGateway = null;
        String fallback = null;
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String[] words = line.strip().split("\\s+");
                if (words.length != 2 || words[0].startsWith("#")) {
                    continue;
                }
                if (words[0].replaceAll("/+$", "").equals(gateway)) {
                    forGateway = words[1];
                } else if (words[0].equals("default")) {
                    fallback = words[1];
                }
            }
        } catch (NoSuchFileException e) {
            return new Found(null, looked + " (no such file)");
        } catch (IOException e) {
            return new Found(null, looked + " (cannot read it: " + e.getMessage() + ")");
        }
        if (forGateway != null) {
            return new Found(forGateway, file + " (line for " + gateway + ")");
        }
        if (fallback != null) {
            return new Found(fallback, file + " (default line)");
        }
        return new Found(null, looked + " (no line for " + gateway + " and no default line)");
    }
}
