package dev.skiff.server.scale;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.autoscaler.Backlog;
import dev.skiff.autoscaler.Decision;
import dev.skiff.autoscaler.LoadSample;
import dev.skiff.invoker.ConcurrencySample;
import java.time.Instant;
import java.util.Map;
import java.time.format.DateTimeParseException;

/**
 * The JSON on the two topics, written and read by hand so that anything else on them (a foreign
 * producer, a truncated record, a newer format) is a {@link MalformedMessage} with a reason, never
 * an exception that would stop a channel.
 *
 * <pre>
 * fn.metrics  {"invoker":"host-123","function":"hello","at":"2026-11-22T23:00:00Z","inFlight":3,"queued":0,"replicas":1,"calls":12}
 *             {"kind":"backlog","source":"node-7/orders","function":"hello","at":"…","lag":250,"lagThreshold":100,"maxInFlight":8}
 * fn.scale    {"function":"hello","desired":4,"panicking":false,"stableConcurrency":2.5,"panicConcurrency":3.1,"at":"…","reason":"…",
 *              "targets":{"host-123":3,"host-456":1}}
 * </pre>
 */
public final class ScaleMessages {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ScaleMessages() {}

    /** A message that cannot be used; the message says why. */
    public static final class MalformedMessage extends Exception {
        MalformedMessage(String reason) {
            super(reason, null, false, false);
        }
    }

    /**
     * What the invoker acts on: the desired replicas of one function in total, decided at
     * {@code at}, and how many each invoker that reported it should run ({@link ReplicaSpread}).
     */
    public record ScaleCommand(String function, int desired, boolean panicking, Instant at, Map<String, Integer> targets) {
        public ScaleCommand {
            targets = Map.copyOf(targets);
        }

        /**
         * The replicas {@code invoker} should run: its target; the whole count when the decision
         * names no invoker (nobody had reported the function); empty when it names others only:
         * this invoker had not reported the function, so it leaves it to its calls.
         */
        public java.util.OptionalInt targetFor(String invoker) {
            if (targets.isEmpty()) return java.util.OptionalInt.of(desired);
            Integer t = targets.get(invoker);
            return t == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(t);
        }
    }

    public static String sample(ConcurrencySample s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("invoker", s.invoker()).put("function", s.function()).put("at", s.at().toString())
                .put("inFlight", s.inFlight()).put("queued", s.queued()).put("replicas", s.replicas()).put("calls", s.calls());
        return n.toString();
    }

    public static String decision(String function, Decision d, Instant at, Map<String, Integer> targets) {
        ObjectNode n = JSON.createObjectNode();
        n.put("function", function).put("desired", d.desiredReplicas()).put("panicking", d.panicking())
                .put("stableConcurrency", finite(d.stableConcurrency())).put("panicConcurrency", finite(d.panicConcurrency()))
                .put("at", at.toString()).put("reason", d.reason());
        ObjectNode t = n.putObject("targets");
        targets.forEach(t::put);
        return n.toString();
    }

    public static String backlog(Backlog b) {
        ObjectNode n = JSON.createObjectNode();
        n.put("kind", "backlog").put("source", b.source()).put("function", b.function()).put("at", b.at().toString())
                .put("lag", b.lag()).put("lagThreshold", b.lagThreshold()).put("maxInFlight", b.maxInFlight());
        return n.toString();
    }

    /** A record of fn.metrics: an invoker's {@link LoadSample}, or a trigger's {@link Backlog} ("kind":"backlog"). */
    public static Object parseMetric(String payload) throws MalformedMessage {
        JsonNode n = object(payload);
        if (!"backlog".equals(n.path("kind").asText())) return parseSample(n);
        try {
            return new Backlog(text(n, "source"), text(n, "function"), instant(n, "at"), longCount(n, "lag"),
                    count(n, "lagThreshold"), count(n, "maxInFlight"));
        } catch (IllegalArgumentException e) {
            throw new MalformedMessage(e.getMessage() + ": " + abbreviate(n.toString()));
        }
    }

    public static LoadSample parseSample(String payload) throws MalformedMessage {
        return parseSample(object(payload));
    }

    private static LoadSample parseSample(JsonNode n) throws MalformedMessage {
        return new LoadSample(text(n, "invoker"), text(n, "function"), instant(n, "at"), count(n, "inFlight"),
                count(n, "queued"), count(n, "replicas"), longCount(n, "calls"));
    }

    public static ScaleCommand parseDecision(String payload) throws MalformedMessage {
        JsonNode n = object(payload);
        JsonNode panicking = n.get("panicking");
        // "targets" is optional: without it, whoever runs the function takes the whole count.
        Map<String, Integer> targets = new java.util.HashMap<>();
        JsonNode t = n.get("targets");
        if (t != null && !t.isObject()) throw new MalformedMessage("'targets' is not an object of invoker: replicas");
        if (t != null) {
            for (var e : t.properties()) targets.put(e.getKey(), count(t, e.getKey()));
        }
        return new ScaleCommand(text(n, "function"), count(n, "desired"), panicking != null && panicking.asBoolean(false),
                instant(n, "at"), targets);
    }

    private static double finite(double v) {
        return Double.isFinite(v) ? v : 0;
    }

    private static JsonNode object(String payload) throws MalformedMessage {
        if (payload == null || payload.isBlank()) throw new MalformedMessage("empty message");
        try {
            JsonNode n = JSON.readTree(payload);
            if (n == null || !n.isObject()) throw new MalformedMessage("not a JSON object: " + abbreviate(payload));
            return n;
        } catch (JsonProcessingException e) {
            throw new MalformedMessage("not JSON: " + abbreviate(payload));
        }
    }

    private static String text(JsonNode n, String field) throws MalformedMessage {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) throw new MalformedMessage("no '" + field + "' text in " + abbreviate(n.toString()));
        return v.asText();
    }

    private static int count(JsonNode n, String field) throws MalformedMessage {
        JsonNode v = n.get(field);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0) {
            throw new MalformedMessage("'" + field + "' is not a count of 0 or more in " + abbreviate(n.toString()));
        }
        return v.asInt();
    }

    private static long longCount(JsonNode n, String field) throws MalformedMessage {
        JsonNode v = n.get(field);
        if (v == null || !v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() < 0) {
            throw new MalformedMessage("'" + field + "' is not a count of 0 or more in " + abbreviate(n.toString()));
        }
        return v.asLong();
    }

    private static Instant instant(JsonNode n, String field) throws MalformedMessage {
        String text = text(n, field);
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new MalformedMessage("'" + field + "' is not an ISO-8601 instant: " + abbreviate(text));
        }
    }

    static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }
}
