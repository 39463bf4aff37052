package dev.skiff.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Runs {@link Fn#run} with in-memory streams. */
final class FnRunner {
    record Result(int code, byte[] stdout, String err) {
        String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out() + "--- stderr\n" + err;
        }
    }

    private FnRunner() {
    }

    static Result run(Map<String, String> env, byte[] stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream outStream = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            int code = Fn.run(args, new ByteArrayInputStream(stdin), outStream, errStream, env);
            return new Result(code, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
        }
    }

    static Result run(Map<String, String> env, String... args) {
        return run(env, new byte[0], args);
    }

    static Result run(String... args) {
        return run(Map.of(), args);
    }
}
