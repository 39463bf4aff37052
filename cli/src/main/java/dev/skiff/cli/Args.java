package dev.skiff.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A minimal command-line parser: options may appear anywhere, in the forms
 * {@code --name value}, {@code --name=value}, {@code -n value} and {@code -nvalue};
 * {@code --} ends option parsing. Options may be repeated (see {@link #values}).
 */
final class Args {

    /** Which options a command accepts. The first name given is the canonical one. */
    static final class Spec {
        private final Map<String, String> canonical = new HashMap<>();
        private final Set<String> takesValue = new HashSet<>();

        Spec value(String name, String... aliases) {
            takesValue.add(name);
            return add(name, aliases);
        }

        Spec flag(String name, String... aliases) {
            return add(name, aliases);
        }

        private Spec add(String name, String... aliases) {
            canonical.put(name, name);
            for (String alias : aliases) {
                canonical.put(alias, name);
            }
            return this;
        }
    }

    private final Map<String, List<String>> options = new LinkedHashMap<>();
    private final List<String> positionals = new ArrayList<>();

    private Args() {
    }

    static Args parse(List<String> tokens, Spec spec) throws CliException {
        Args args = new Args();
        for (int i = 0; i < tokens.size(); i++) {
            String token = tokens.get(i);
            if (token.equals("--")) {
                args.positionals.addAll(tokens.subList(i + 1, tokens.size()));
                break;
            }
            if (!token.startsWith("-") || token.equals("-")) {
                args.positionals.add(token);
                continue;
            }
            String key = token;
            String inline = null;
            if (token.startsWith("--")) {
                int eq = token.indexOf('=');
                if (eq > 0) {
                    key = token.substring(0, eq);
                    inline = token.substring(eq + 1);
                }
            } else if (!spec.canonical.containsKey(token) && token.length() > 2) {
                // -XPOST, -dTEXT
                key = token.substring(0, 2);
                inline = token.substring(2);
            }
            String name = spec.canonical.get(key);
            if (name == null) {
                throw CliException.usage("unknown option " + key);
            }
            List<String> values = args.options.computeIfAbsent(name, k -> new ArrayList<>());
            if (spec.takesValue.contains(name)) {
                if (inline == null) {
                    if (i + 1 >= tokens.size()) {
                        throw CliException.usage("option " + key + " needs a value");
                    }
                    inline = tokens.get(++i);
                }
                values.add(inline);
            } else if (inline != null) {
                throw CliException.usage("option " + key + " takes no value");
            }
        }
        return args;
    }

    boolean has(String name) {
        return options.containsKey(name);
    }

    /** The last value given for the option, or {@code null}. */
    String value(String name) {
        List<String> values = options.get(name);
        return values == null || values.isEmpty() ? null : values.get(values.size() - 1);
    }

    List<String> values(String name) {
        return options.getOrDefault(name, List.of());
    }

    List<String> positionals() {
        return positionals;
    }

    /** The positional at {@code index}, or {@code fallback} if absent; rejects extra positionals. */
    String positional(int index, String fallback, int max) throws CliException {
        if (positionals.size() > max) {
            throw CliException.usage("unexpected argument '" + positionals.get(max) + "'");
        }
        return index < positionals.size() ? positionals.get(index) : fallback;
    }

    /** The single required positional (e.g. NAME). */
    String required(String what) throws CliException {
        if (positionals.isEmpty()) {
            throw CliException.usage("missing " + what);
        }
        return positional(0, null, 1);
    }
}
