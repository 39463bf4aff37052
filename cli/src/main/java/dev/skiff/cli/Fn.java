package dev.skiff.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code fn} command line. The {@code ./fn} wrapper script runs this class, except for {@code fn up},
 * which the script handles itself.
 *
 * <p>Exit codes: 0 success, 1 failure ({@code fn: <message>} on stderr), 2 usage error (followed by a usage line).
 */
public final class Fn {
    static final String DEFAULT_GATEWAY = "http://localhost:8080";

    private static final String USAGE = "fn [--gateway URL] [--token TOKEN] <command> [arguments]";

    private Fn() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.in, System.out, System.err, System.getenv()));
    }

    /**
     * Runs {@code fn} with the given arguments and streams and returns the exit code.
     * Stdin/stdout count as terminals only when they are {@link System#in}/{@link System#out} and are
     * attached to a terminal; any other stream given here is treated as a pipe.
     *
     * @param env environment variables (SKIFF_GATEWAY, SKIFF_TOKEN, SKIFF_CREDENTIALS, HOME, SKIFF_DEBUG)
     */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err, Map<String, String> env) {
        Map<String, Command> commands = commands();
        Command command = null;
        try {
            int i = 0;
            // Options before the command: --gateway URL and --token TOKEN (also as --name=value).
            Map<String, String> global = new HashMap<>();
            for (; i < args.length && args[i].startsWith("-"); i++) {
                String arg = args[i];
                if (arg.equals("--help") || arg.equals("-h")) {
                    printHelp(commands, out);
                    return 0;
                }
                int eq = arg.indexOf('=');
                String option = eq < 0 ? arg : arg.substring(0, eq);
                if (!option.equals("--gateway") && !option.equals("--token")) {
                    throw CliException.usage("unknown option " + arg);
                }
                if (eq >= 0) {
                    global.put(option, arg.substring(eq + 1));
                } else if (++i >= args.length) {
                    throw CliException.usage("option " + option + " needs a value");
                } else {
                    global.put(option, args[i]);
                }
            }
            String gateway = global.get("--gateway");
            String tokenFlag = global.get("--token");
            if (i >= args.length) {
                printHelp(commands, err);
                return 2;
            }
            String name = args[i];
            List<String> rest = Arrays.asList(args).subList(i + 1, args.length);
            if (name.equals("help")) {
                return help(commands, rest, out);
            }
            if (name.equals("up")) {
                throw new CliException("'fn up' is handled by the ./fn script: run ./fn up from the repository root");
            }
            command = commands.get(name);
            if (command == null) {
                throw CliException.usage("unknown command '" + name + "' (see ./fn --help)");
            }
            Args parsed = Args.parse(rest, command.options().value("--gateway").value("--token").flag("--help", "-h"));
            if (parsed.has("--help")) {
                printUsage(command, out);
                return 0;
            }
            if (parsed.value("--gateway") != null) {
                gateway = parsed.value("--gateway");
            }
            String source = gateway != null ? "--gateway" : "SKIFF_GATEWAY";
            if (gateway == null) {
                gateway = blankToNull(env.get("SKIFF_GATEWAY"));
            }
            String base = gateway == null ? DEFAULT_GATEWAY : normalizeGateway(gateway, source);
            if (parsed.value("--token") != null) {
                tokenFlag = parsed.value("--token");
            }
            Credentials.Found token = Credentials.find(tokenFlag, env, base);
            boolean stdinTerminal = in == System.in && Terminal.isTerminal(0);
            boolean stdoutTerminal = out == System.out && Terminal.isTerminal(1);
            try (Context ctx = new Context(in, out, err, env, base, token, stdinTerminal, stdoutTerminal)) {
                return command.run(parsed, ctx);
            }
        } catch (CliException e) {
            err.println("fn: " + e.getMessage());
            if (e.isUsage()) {
                err.println("usage: " + (command != null ? command.usage() : USAGE));
            }
            return e.exitCode();
        } catch (IOException e) {
            err.println("fn: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            debug(e, env, err);
            return 1;
        } catch (RuntimeException e) {
            err.println("fn: internal error: " + e);
            debug(e, env, err);
            return 1;
        } finally {
            out.flush();
            err.flush();
        }
    }

    static Map<String, Command> commands() {
        Map<String, Command> commands = new LinkedHashMap<>();
        for (Command command : List.of(
                new InitCommand(new Templates(Fn.class.getClassLoader())),
                new DeployCommand(),
                new InvokeCommand(),
                new ListCommand(),
                new DescribeCommand(),
                new DeleteCommand(),
                new VersionsCommand(),
                new RollbackCommand(),
                new LogsCommand(),
                new TokenCommand())) {
            commands.put(command.name(), command);
        }
        return commands;
    }

    private static int help(Map<String, Command> commands, List<String> rest, PrintStream out) throws CliException {
        if (rest.isEmpty()) {
            printHelp(commands, out);
            return 0;
        }
        Command command = commands.get(rest.get(0));
        if (command == null) {
            throw CliException.usage("unknown command '" + rest.get(0) + "' (see ./fn --help)");
        }
        printUsage(command, out);
        return 0;
    }

    private static void printHelp(Map<String, Command> commands, PrintStream out) {
        out.println("usage: " + USAGE);
        out.println();
        out.println("Commands:");
        for (Command command : commands.values()) {
            out.printf("  %-10s%s%n", command.name(), command.summary());
        }
        out.printf("  %-10s%s%n", "up", "start Skiff on this machine (handled by the ./fn script)");
        out.printf("  %-10s%s%n", "help", "show help for a command: ./fn help deploy");
        out.println();
        out.println("Options:");
        out.println("  --gateway URL   Skiff gateway (default: $SKIFF_GATEWAY, else " + DEFAULT_GATEWAY + ")");
        out.println("  --token TOKEN   API token (default: $SKIFF_TOKEN, else the credentials file)");
        out.println();
        out.println("Environment:");
        out.println("  SKIFF_GATEWAY      gateway URL");
        out.println("  SKIFF_TOKEN        API token, sent as 'Authorization: Bearer' (management calls and fn invoke)");
        out.println("  SKIFF_CREDENTIALS  credentials file (default: $HOME/.config/skiff/credentials, written by fn up)");
        out.println();
        out.println("Start with: ./fn up, then ./fn init hello and ./fn deploy hello");
    }

    private static void printUsage(Command command, PrintStream out) {
        out.println("usage: " + command.usage());
        out.println();
        out.println(capitalize(command.summary()) + ".");
        if (!command.details().isEmpty()) {
            out.println();
            out.println(command.details());
        }
        out.println();
        out.println("Global options: --gateway URL (default: $SKIFF_GATEWAY, else " + DEFAULT_GATEWAY + "),");
        out.println("                --token TOKEN (default: $SKIFF_TOKEN, else the credentials file fn up wrote)");
    }

    /** Validates the gateway URL and strips trailing slashes. */
    static String normalizeGateway(String gateway, String source) throws CliException {
        String url = gateway.strip().replaceAll("/+$", "");
        try {
            URI uri = new URI(url);
            String scheme = uri.getScheme();
            if (("http".equalsIgnoreCase(scheme) || "https".equalsIgnoreCase(scheme)) && uri.getHost() != null
                    && uri.getRawQuery() == null && uri.getRawFragment() == null) {
                return url;
            }
        } catch (java.net.URISyntaxException e) {
            // fall through
        }
        String message = "invalid gateway URL '" + gateway + "' from " + source
                + " (expected something like " + DEFAULT_GATEWAY + ")";
        throw source.equals("--gateway") ? CliException.usage(message) : new CliException(message);
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }

    private static String capitalize(String text) {
        return text.isEmpty() ? text : Character.toUpperCase(text.charAt(0)) + text.substring(1);
    }

    private static void debug(Throwable e, Map<String, String> env, PrintStream err) {
        if (env.get("SKIFF_DEBUG") != null) {
            e.printStackTrace(err);
        }
    }
}
