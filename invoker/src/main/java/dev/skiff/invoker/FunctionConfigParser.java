package dev.skiff.invoker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.skiff.autoscaler.ScalingConfig;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses and validates func.yaml. Unknown keys are an error that names the key (a typo should
 * not silently fall back to a default).
 *
 * <pre>
 * name: hello            # required; a lowercase DNS label
 * runtime: python        # required, unless image is given (then absent or "image")
 * handler: handler.handle
 * image: /srv/images/hello.tar   # instead of runtime: the function is an OCI image (see ImageReference)
 * command: [/bin/server] # image functions only: replaces the image's Entrypoint + Cmd
 * memory: 128Mi          # Ki/Mi/Gi (or k/m/g) suffixes; at least 16Mi
 * pids: 64
 * cpu: 0.5              # CPUs (or 500m); a hard quota, also sets the weight; default: no quota
 * concurrency: 1         # calls one replica serves at once
 * minScale: 0           # replicas kept warm even when idle
 * maxScale: 10
 * maxQueue: 1000        # calls that may wait for a slot; more get 429 at once
 * timeout: 30s           # ms/s/m/h suffixes
 * idleTimeout: 300s
 * env: {KEY: value}
 * network: none         # none: loopback only; outbound: may connect out (NAT), never to the host
 * scale: {target: 5}    # autoscaling knobs, checked by the autoscaler's ScalingConfig.fromMap
 * auth: none            # none: anyone may call it; token: calls need an API token (invoke or admin)
 * triggers: [...]       # Kafka topics whose records become POST calls (see TriggerConfigParser)
 * </pre>
 */
public final class FunctionConfigParser {
    public static final Pattern NAME = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final List<String> KEYS = List.of("name", "runtime", "handler", "memory", "pids", "cpu", "concurrency",
            "minScale", "maxScale", "maxQueue", "timeout", "idleTimeout", "env", "network", "scale", "auth",
            "image", "command", "triggers");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kKmMgG]i?|[bB])?");
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private FunctionConfigParser() {}

    public static String nameProblem(String name) {
        if (name == null || name.isEmpty()) return "the function name is empty";
        if (!NAME.matcher(name).matches()) {
            return "'" + name + "' is not a valid function name: use 1-63 lowercase letters, digits and '-',"
                    + " starting with a letter and not ending with '-' (a DNS label)";
        }
        return null;
    }

    public static FunctionConfig parse(String yaml) throws InvalidFunctionException {
        Object tree;
        try {
            tree = YAML.readValue(yaml, Object.class);
        } catch (JsonProcessingException e) {
            throw new InvalidFunctionException("invalid_yaml", "func.yaml is not valid YAML: " + e.getOriginalMessage());
        }
        if (!(tree instanceof Map<?, ?> map)) throw new InvalidFunctionException("invalid_func_yaml", "func.yaml must be a mapping of keys to values");
        for (Object key : map.keySet()) {
            if (!KEYS.contains(String.valueOf(key))) {
                throw new InvalidFunctionException("unknown_key", "func.yaml has an unknown key '" + key + "'; known keys: " + String.join(", ", KEYS));
            }
        }
        String name = string(map, "name", null);
        if (name == null) throw new InvalidFunctionException("invalid_func_yaml", "func.yaml has no 'name'");
        String problem = nameProblem(name);
        if (problem != null) throw new InvalidFunctionException("invalid_name", problem);
        String runtime = string(map, "runtime", null);
        ImageReference image = map.get("image") == null ? null : ImageReference.parse(string(map, "image", null));
        List<String> command = command(map.get("command"), image != null);
        if (image != null) {
            if (runtime != null && !runtime.equals(FunctionConfig.IMAGE_RUNTIME)) {
                throw new InvalidFunctionException("invalid_func_yaml", "func.yaml has both 'runtime: " + runtime + "' and 'image':"
                        + " an image brings its own runtime; leave runtime out (or write runtime: image)");
            }
            if (map.containsKey("handler")) {
                throw new InvalidFunctionException("invalid_func_yaml", "'handler' is for language runtimes; a function from an image"
                        + " runs its Entrypoint/Cmd, or 'command' when given");
            }
            runtime = FunctionConfig.IMAGE_RUNTIME;
        } else if (FunctionConfig.IMAGE_RUNTIME.equals(runtime)) {
            throw new InvalidFunctionException("invalid_func_yaml", "'runtime: image' needs an 'image' key naming the image"
                    + " (an absolute path on the Skiff host to an OCI image layout directory or tar)");
        }
        if (runtime == null) throw new InvalidFunctionException("invalid_func_yaml", "func.yaml has no 'runtime' (e.g. runtime: python) and no 'image'");
        String handler = string(map, "handler", "handler.handle");
        if (!handler.matches("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+")) {
            throw new InvalidFunctionException("invalid_func_yaml", "handler '" + handler + "' must look like module.function");
        }
        long memory = size(map, "memory", 128L << 20);
        if (memory < (16L << 20)) throw new InvalidFunctionException("invalid_func_yaml", "memory must be at least 16Mi");
        int pids = integer(map, "pids", 64, 4, 4096);
        boolean pidsGiven = map.containsKey("pids");
        int cpuMillis = cpu(map.get("cpu"));
        int concurrency = integer(map, "concurrency", 1, 1, 1000);
        // The FDK serves each connection on a thread, and threads count against pids: a replica
        // needs room for `concurrency` of them plus the interpreter's own.
        int pidsNeeded = concurrency + 16;
        if (!pidsGiven) {
            pids = Math.max(pids, pidsNeeded);
        } else if (pids < concurrency + 3) { // init, the interpreter's main thread and its accept loop
            throw new InvalidFunctionException("invalid_func_yaml", "pids (" + pids + ") is too low for concurrency "
                    + concurrency + ": each concurrent call needs a thread; use at least " + pidsNeeded + " or leave pids out");
        }
        int maxScale = integer(map, "maxScale", 10, 1, 1000);
        int maxQueue = integer(map, "maxQueue", 1000, 0, 100_000);
        int minScale = integer(map, "minScale", 0, 0, 1000);
        if (minScale > maxScale) {
            throw new InvalidFunctionException("invalid_func_yaml", "minScale (" + minScale + ") must not exceed maxScale (" + maxScale + ")");
        }
        Duration timeout = duration(map, "timeout", Duration.ofSeconds(30));
        Duration idle = duration(map, "idleTimeout", Duration.ofSeconds(300));
        Map<String, String> env = new LinkedHashMap<>();
        Object envObj = map.get("env");
        if (envObj != null) {
            if (!(envObj instanceof Map<?, ?> envMap)) throw new InvalidFunctionException("invalid_func_yaml", "env must be a mapping of NAME: value");
            for (Map.Entry<?, ?> e : envMap.entrySet()) {
                String k = String.valueOf(e.getKey());
                if (!k.matches("[A-Za-z_][A-Za-z0-9_]*") || k.startsWith("FN_")) {
                    throw new InvalidFunctionException("invalid_func_yaml", "env key '" + k + "' is not a valid variable name (FN_ is reserved)");
                }
                env.put(k, e.getValue() == null ? "" : String.valueOf(e.getValue()));
            }
        }
        String network = string(map, "network", "none");
        if (!network.equals("none") && !network.equals("outbound")) {
            throw new InvalidFunctionException("invalid_func_yaml", "network must be 'none' (loopback only) or 'outbound', got '" + network + "'");
        }
        ScalingConfig scaling = scaling(map.get("scale"), concurrency, minScale, maxScale);
        String auth = string(map, "auth", "none");
        if (!auth.equals("none") && !auth.equals("token")) {
            throw new InvalidFunctionException("invalid_func_yaml", "auth must be 'none' (anyone may call the function) or 'token'"
                    + " (calls need an API token, from fn token create --scope invoke), got '" + auth + "'");
        }
        List<TriggerConfig> triggers = TriggerConfigParser.parse(map.get("triggers"), name);
        return new FunctionConfig(name, runtime, handler, memory, pids, cpuMillis, concurrency, maxScale, timeout, idle, env,
                network.equals("outbound"), maxQueue, minScale, scaling, auth.equals("token"), image, command, triggers);
    }

    /** command: a non-empty list of strings, only beside image (a language runtime has its own launcher). */
    private static List<String> command(Object v, boolean image) throws InvalidFunctionException {
        if (v == null) return List.of();
        if (!image) {
            throw new InvalidFunctionException("invalid_func_yaml", "'command' is only for functions from an image (image: PATH);"
                    + " a language runtime's function is started by its FDK");
        }
        if (!(v instanceof List<?> list) || list.isEmpty() || list.stream().anyMatch(a -> a == null || a instanceof Map || a instanceof List)) {
            throw new InvalidFunctionException("invalid_func_yaml", "command must be a non-empty list of strings, e.g. command: [/bin/server, --verbose]");
        }
        List<String> argv = list.stream().map(String::valueOf).toList();
        if (argv.get(0).isBlank()) throw new InvalidFunctionException("invalid_func_yaml", "command must start with the program to run");
        return argv;
    }

    /** The scale: section, checked now so that a bad knob is a 400 at deploy, not a surprise in the autoscaler. */
    private static ScalingConfig scaling(Object section, int concurrency, int minScale, int maxScale) throws InvalidFunctionException {
        if (section != null && !(section instanceof Map)) {
            throw new InvalidFunctionException("invalid_func_yaml", "scale must be a mapping of knobs (e.g. scale: {target: 5})");
        }
        try {
            return ScalingConfig.fromMap((Map<?, ?>) section, concurrency, minScale, maxScale);
        } catch (IllegalArgumentException e) {
            // ScalingConfig's messages name the key (scale.target, func.yaml scale: ...); say where only when they do not.
            String message = e.getMessage().contains("scale") ? e.getMessage() : "func.yaml scale: " + e.getMessage();
            throw new InvalidFunctionException("invalid_func_yaml", message);
        }
    }

    private static String string(Map<?, ?> map, String key, String dflt) throws InvalidFunctionException {
        Object v = map.get(key);
        if (v == null) return dflt;
        if (v instanceof Map || v instanceof List) throw new InvalidFunctionException("invalid_func_yaml", key + " must be a string");
        return String.valueOf(v).trim();
    }

    private static int integer(Map<?, ?> map, String key, int dflt, int min, int max) throws InvalidFunctionException {
        Object v = map.get(key);
        if (v == null) return dflt;
        try {
            // Parse as text so a YAML float (64.9) or a value beyond int (4294967360) is refused, not cut.
            long n = Long.parseLong(String.valueOf(v).trim());
            if (n < min || n > max) throw new NumberFormatException();
            return (int) n;
        } catch (NumberFormatException e) {
            throw new InvalidFunctionException("invalid_func_yaml", key + " must be a whole number from " + min + " to " + max + ", got '" + v + "'");
        }
    }

    /** "0.5", "2" (CPUs) or "500m" (millicpus, as Kubernetes writes them) to millicpus; absent is 0. */
    static int cpu(Object v) throws InvalidFunctionException {
        if (v == null) return 0;
        String s = String.valueOf(v).trim();
        try {
            double millis = s.endsWith("m") ? Double.parseDouble(s.substring(0, s.length() - 1)) : Double.parseDouble(s) * 1000;
            if (millis >= 10 && millis <= 64_000 && Double.isFinite(millis)) return (int) Math.round(millis);
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new InvalidFunctionException("invalid_func_yaml", "cpu must be a number of CPUs from 0.01 to 64 (e.g. 0.5 or 500m), got '" + v + "'");
    }

    static long size(Map<?, ?> map, String key, long dflt) throws InvalidFunctionException {
        Object v = map.get(key);
        if (v == null) return dflt;
        Matcher m = SIZE.matcher(String.valueOf(v).trim());
        if (!m.matches()) throw new InvalidFunctionException("invalid_func_yaml", key + " must be a size like 128Mi or 1Gi, got '" + v + "'");
        String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        try {
            long n = Long.parseLong(m.group(1));
            return switch (unit.charAt(0)) {
                case 'k' -> Math.multiplyExact(n, 1L << 10);
                case 'm' -> Math.multiplyExact(n, 1L << 20);
                case 'g' -> Math.multiplyExact(n, 1L << 30);
                default -> n;
            };
        } catch (NumberFormatException | ArithmeticException e) {
            throw new InvalidFunctionException("invalid_func_yaml", key + " is too large: '" + v + "'");
        }
    }

    static Duration duration(Map<?, ?> map, String key, Duration dflt) throws InvalidFunctionException {
        Object v = map.get(key);
        if (v == null) return dflt;
        String text = String.valueOf(v).trim();
        if (text.matches("\\d+")) text = text + "s"; // a plain whole number means seconds
        Matcher m = DURATION.matcher(text);
        if (!m.matches()) throw new InvalidFunctionException("invalid_func_yaml", key + " must be a duration like 500ms, 30s, 5m, got '" + v + "'");
        Duration d;
        try {
            long n = Long.parseLong(m.group(1));
            d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            };
            if (d.compareTo(Duration.ofDays(366)) > 0) throw new ArithmeticException();
        } catch (NumberFormatException | ArithmeticException e) {
            throw new InvalidFunctionException("invalid_func_yaml", key + " is too long: '" + v + "' (at most a year)");
        }
        if (d.isZero()) throw new InvalidFunctionException("invalid_func_yaml", key + " must be more than zero");
        return d;
    }
}
