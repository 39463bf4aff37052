package dev.skiff.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.util.Map;

/** What a command runs with: streams, environment, gateway settings. */
final class Context implements AutoCloseable {
    final InputStream in;
    final PrintStream out;
    final PrintStream err;
    final Map<String, String> env;
    final String gateway;
    final String token;
    /** Where {@link #token} came from, or where the CLI looked for one (for messages). */
    final String tokenSource;
    /** Whether stdin is an interactive terminal (then {@code fn invoke} does not read a body from it). */
    final boolean stdinIsTerminal;
    /** Whether stdout is an interactive terminal (then output gets a final newline). */
    final boolean stdoutIsTerminal;

    private Api api;

    Context(InputStream in, PrintStream out, PrintStream err, Map<String, String> env, String gateway,
            Credentials.Found token, boolean stdinIsTerminal, boolean stdoutIsTerminal) {
        this.in = in;
        this.out = out;
        this.err = err;
        this.env = env;
        this.gateway = gateway;
        this.token = token.token();
        this.tokenSource = token.source();
        this.stdinIsTerminal = stdinIsTerminal;
        this.stdoutIsTerminal = stdoutIsTerminal;
    }

    Api api() {
        if (api == null) {
            api = new Api(gateway, token, tokenSource);
        }
        return api;
    }

    @Override
    public void close() {
        if (api != null) {
            api.close();
        }
    }
}
