package dev.skiff.server.scale;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.autoscaler.Decision;
import dev.skiff.autoscaler.LoadSample;
import dev.skiff.invoker.ConcurrencySample;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * The JSON on the two topics, written and read by hand so that anything else on them (a foreign
 * producer, a truncated record, a newer format) is a {@link MalformedMessage} with a reason, never
 * an exception that would stop a channel.
 *
 * <pre>
 * fn.metrics  {"invoker":"host-123","function":"hello","at":"2026-11-22T23:00:00Z","inFlight":3,"queued":0,"replicas":1,"calls":12}
 * fn.scale    {"function":"hello","desired":4,"panicking":false,"stableConcurrency":2.5,"panicConcurrency":3.1,"at":"…","reason":"…","invokers":1}
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
     * {@code at}, and over how many invokers (those that reported it) they are to be spread.
     */
    public record ScaleCommand(String function, int desired, boolean panicking, Instant at, int invokers) {
        /** This invoker's share: the total spread evenly, rounded up (never a replica short). */
        public int share() {
            return invokers <= 1 ? desired : (desired + invokers - 1) / invokers;
        }
    }

    public static String sample(ConcurrencySample s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("invoker", s.invoker()).put("function", s.function()).put("at", s.at().toString())
                .put("inFlight", s.inFlight()).put("queued", s.queued()).put("replicas", s.replicas()).put("calls", s.calls());
        return n.toString();
    }

    public static String decision(String function, Decision d, Instant at, int invokers) {
        ObjectNode n = JSON.createObjectNode();
        n.put("function", function).put("desired", d.desiredReplicas()).put("panicking", d.panicking())
                .put("stableConcurrency", finite(d.stableConcurrency())).put("panicConcurrency", finite(d.panicConcurrency()))
                .put("at", at.toString()).put("reason", d.reason()).put("invokers", Math.max(1, invokers));
        return n.toString();
    }

    public static LoadSample parseSample(String payload) throws MalformedMessage {
        JsonNode n = object(payload);
        return new LoadSample(text(n, "invoker"), text(n, "function"), instant(n, "at"), count(n, "inFlight"),
                count(n, "queued"), count(n, "replicas"), longCount(n, "calls"));
    }

    public static ScaleCommand parseDecision(String payload) throws MalformedMessage {
        JsonNode n = object(payload);
        JsonNode panicking = n.get("panicking");
        // "invokers" is optional: without it, one invoker carries the whole count.
        int invokers = n.has("invokers") ? Math.max(1, count(n, "invokers")) : 1;
        return new ScaleCommand(text(n, "function"), count(n, "desired"), panicking != null && panicking.asBoolean(false),
                instant(n, "at"), invokers);
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
