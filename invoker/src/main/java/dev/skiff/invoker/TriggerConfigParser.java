package dev.skiff.invoker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The {@code triggers} section of func.yaml, checked as strictly as the rest of it (an unknown
 * key is named in the error), so that a bad trigger is a 400 at deploy and not a consumer that
 * silently does something else.
 *
 * <pre>
 * triggers:
 *   - topic: orders            # or topics: [a, b]; one of the two
 *     name: orders             # default: the first topic; unique within the function
 *     group: my-group          # default: skiff-trigger-FUNCTION-NAME
 *     startFrom: latest        # latest | earliest: where a group without a committed offset starts
 *     ordering: partition      # partition | key | none
 *     concurrency: 8           # records running at once (partition: still one per partition)
 *     path: /                  # the path the POST goes to
 *     retry: {maxAttempts: 5, backoff: 1s, maxBackoff: 60s, on: [5xx, 429, timeout]}
 *     deadLetterTopic: x.dlq   # default: skiff.dlq.FUNCTION
 *     resultTopic: x.out       # optional: the responses
 *     exactlyOnce: false       # true needs resultTopic
 *     lagThreshold: 100        # records waiting per replica the backlog asks the autoscaler for
 *     batchSize: 1             # up to N waiting records per call, as a JSON array (1: the record is the body)
 * </pre>
 */
public final class TriggerConfigParser {
    /** Kafka's own rule for topic names (org.apache.kafka.common.internals.Topic). */
    public static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    /** Names go into group ids, transactional ids and metric labels: the topic alphabet, shorter. */
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9._-]{1,100}");
    static final List<String> KEYS = List.of("topic", "topics", "name", "group", "startFrom", "ordering", "concurrency", "path",
            "retry", "deadLetterTopic", "resultTopic", "exactlyOnce", "lagThreshold", "batchSize");
    private static final List<String> RETRY_KEYS = List.of("maxAttempts", "backoff", "maxBackoff", "on");

    private TriggerConfigParser() {}

    static List<TriggerConfig> parse(Object section, String function) throws InvalidFunctionException {
        if (section == null) return List.of();
        if (!(section instanceof List<?> list)) throw invalid("triggers must be a list of triggers (- topic: NAME ...)");
        List<TriggerConfig> triggers = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            TriggerConfig t = one(list.get(i), function, "triggers[" + i + "]");
            if (!names.add(t.name())) {
                throw invalid("triggers[" + i + "]: another trigger is named '" + t.name() + "' already; give each a distinct name");
            }
            triggers.add(t);
        }
        return List.copyOf(triggers);
    }

    private static TriggerConfig one(Object entry, String function, String where) throws InvalidFunctionException {
        if (!(entry instanceof Map<?, ?> map)) throw invalid(where + " must be a mapping (topic: NAME ...)");
        for (Object key : map.keySet()) {
            if (!KEYS.contains(String.valueOf(key))) {
                throw new InvalidFunctionException("unknown_key", where + " has an unknown key '" + key + "'; known keys: " + String.join(", ", KEYS));
            }
        }
        List<String> topics = topics(map, where);
        String name = string(map, "name", topics.get(0), where);
        if (!NAME.matcher(name).matches()) {
            throw invalid(where + ": name '" + name + "' must be 1-100 letters, digits, '.', '_' or '-'");
        }
        String group = string(map, "group", "skiff-trigger-" + function + "-" + name, where);
        if (group.isBlank()) throw invalid(where + ": group must not be empty");
        TriggerConfig.StartFrom startFrom = choice(map, "startFrom", TriggerConfig.StartFrom.class, TriggerConfig.StartFrom.LATEST, where);
        TriggerConfig.Ordering ordering = choice(map, "ordering", TriggerConfig.Ordering.class, TriggerConfig.Ordering.PARTITION, where);
        int concurrency = integer(map, "concurrency", 8, 1, 1000, where);
        String path = string(map, "path", "/", where);
        if (!path.startsWith("/") || path.contains("?") || path.chars().anyMatch(c -> c <= ' ')) {
            throw invalid(where + ": path must start with '/' and have no query or spaces, got '" + path + "'");
        }
        TriggerConfig.Retry retry = retry(map.get("retry"), where);
        String dlq = topic(string(map, "deadLetterTopic", "skiff.dlq." + function, where), where + ".deadLetterTopic");
        String result = map.get("resultTopic") == null ? null : topic(string(map, "resultTopic", null, where), where + ".resultTopic");
        boolean exactlyOnce = bool(map, "exactlyOnce", where);
        if (exactlyOnce && result == null) {
            throw invalid(where + ": exactlyOnce: true needs a resultTopic (exactly-once is about the results written"
                    + " there; the function itself may run more than once for a record)");
        }
        if (topics.contains(dlq) || (result != null && topics.contains(result))) {
            throw invalid(where + ": the dead-letter and result topics must not be topics the trigger reads (it would feed itself)");
        }
        int lagThreshold = integer(map, "lagThreshold", 100, 1, 1_000_000, where);
        int batchSize = integer(map, "batchSize", 1, 1, TriggerConfig.MAX_BATCH_SIZE, where);
        return new TriggerConfig(name, topics, group, startFrom, ordering, concurrency, path, retry, dlq, result, exactlyOnce, lagThreshold,
                batchSize);
    }

    private static List<String> topics(Map<?, ?> map, String where) throws InvalidFunctionException {
        Object one = map.get("topic");
        Object many = map.get("topics");
        if (one != null && many != null) throw invalid(where + " has both 'topic' and 'topics'; use one of them");
        if (one == null && many == null) throw invalid(where + " needs 'topic: NAME' or 'topics: [A, B]'");
        if (one != null) return List.of(topic(string(map, "topic", null, where), where + ".topic"));
        if (!(many instanceof List<?> list) || list.isEmpty()) throw invalid(where + ".topics must be a non-empty list of topic names");
        List<String> topics = new ArrayList<>();
        for (Object t : list) {
            if (t == null || t instanceof Map || t instanceof List) throw invalid(where + ".topics must be a list of topic names");
            String name = topic(String.valueOf(t).trim(), where + ".topics");
            if (topics.contains(name)) throw invalid(where + ".topics names '" + name + "' twice");
            topics.add(name);
        }
        return topics;
    }

    static String topic(String name, String where) throws InvalidFunctionException {
        if (name == null || !TOPIC.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw invalid(where + ": '" + name + "' is not a valid Kafka topic name: 1-249 letters, digits, '.', '_' or '-' (not '.' or '..')");
        }
        return name;
    }

    private static TriggerConfig.Retry retry(Object section, String where) throws InvalidFunctionException {
        TriggerConfig.Retry d = TriggerConfig.Retry.DEFAULT;
        if (section == null) return d;
        if (!(section instanceof Map<?, ?> map)) throw invalid(where + ".retry must be a mapping, e.g. {maxAttempts: 5, backoff: 1s}");
        for (Object key : map.keySet()) {
            if (!RETRY_KEYS.contains(String.valueOf(key))) {
                throw new InvalidFunctionException("unknown_key", where + ".retry has an unknown key '" + key + "'; known keys: "
                        + String.join(", ", RETRY_KEYS));
            }
        }
        int maxAttempts = integer(map, "maxAttempts", d.maxAttempts(), 1, 100, where + ".retry");
        Duration backoff = FunctionConfigParser.duration(map, "backoff", d.backoff());
        Duration maxBackoff = FunctionConfigParser.duration(map, "maxBackoff", d.maxBackoff());
        if (maxBackoff.compareTo(backoff) < 0) throw invalid(where + ".retry: maxBackoff must not be below backoff");
        Set<TriggerConfig.RetryOn> on = d.on();
        Object onObj = map.get("on");
        if (onObj != null) {
            if (!(onObj instanceof List<?> list)) throw invalid(where + ".retry.on must be a list drawn from 5xx, 429, timeout, 4xx");
            EnumSet<TriggerConfig.RetryOn> chosen = EnumSet.noneOf(TriggerConfig.RetryOn.class);
            for (Object o : list) {
                TriggerConfig.RetryOn kind = null;
                for (TriggerConfig.RetryOn k : TriggerConfig.RetryOn.values()) if (k.yaml.equals(String.valueOf(o).trim())) kind = k;
                if (kind == null) throw invalid(where + ".retry.on: '" + o + "' is not one of 5xx, 429, timeout, 4xx");
                chosen.add(kind);
            }
            on = chosen;
        }
        return new TriggerConfig.Retry(maxAttempts, backoff, maxBackoff, on);
    }

    private static <E extends Enum<E>> E choice(Map<?, ?> map, String key, Class<E> type, E dflt, String where) throws InvalidFunctionException {
        Object v = map.get(key);
        if (v == null) return dflt;
        List<String> allowed = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            String yaml = e.name().toLowerCase(Locale.ROOT);
            allowed.add(yaml);
            if (yaml.equals(String.valueOf(v).trim())) return e;
        }
        throw invalid(where + "." + key + " must be one of " + String.join(", ", allowed) + ", got '" + v + "'");
    }

    private static String string(Map<?, ?> map, String key, String dflt, String where) throws InvalidFunctionException {
        Object v = map.get(key);
        if (v == null) return dflt;
        if (v instanceof Map || v instanceof List) throw invalid(where + "." + key + " must be a string");
        return String.valueOf(v).trim();
    }

    private static int integer(Map<?, ?> map, String key, int dflt, int min, int max, String where) throws InvalidFunctionException {
        Object v = map.get(key);
        if (v == null) return dflt;
        try {
            long n = Long.parseLong(String.valueOf(v).trim());
            if (n < min || n > max) throw new NumberFormatException();
            return (int) n;
        } catch (NumberFormatException e) {
            throw invalid(where + "." + key + " must be a whole number from " + min + " to " + max + ", got '" + v + "'");
        }
    }

    private static boolean bool(Map<?, ?> map, String key, String where) throws InvalidFunctionException {
        Object v = map.get(key);
        if (v == null) return false;
        if (v instanceof Boolean b) return b;
        throw invalid(where + "." + key + " must be true or false, got '" + v + "'");
    }

    private static InvalidFunctionException invalid(String message) {
        return new InvalidFunctionException("invalid_func_yaml", message);
    }
}
