package dev.skiff.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What an invoker tells the gateways every second on {@code fn.invokers}: where to reach it and
 * the load of each function it holds. {@code leaving} is its last word on a clean shutdown.
 *
 * <pre>
 * {"invoker":"host-123","url":"http://10.0.0.7:8080","at":"…","leaving":false,
 *  "memoryFree":4294967296,
 *  "functions":[{"function":"hello","version":3,"replicas":2,"starting":0,"inFlight":1,"waiting":0,"slots":4}]}
 * </pre>
 */
public record Announcement(String invoker, String url, Instant at, boolean leaving, List<Load> functions, long memoryFree) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public Announcement {
        functions = List.copyOf(functions);
    }

    /** An invoker that does not say how much memory it has left: as if it had plenty. */
    public Announcement(String invoker, String url, Instant at, boolean leaving, List<Load> functions) {
        this(invoker, url, at, leaving, functions, Long.MAX_VALUE);
    }

    /** Whether a replica needing {@code memory} bytes fits in what this invoker has left. */
    public boolean roomFor(long memory) {
        return memoryFree >= memory;
    }

    /**
     * One function on the invoker.
     *
     * @param slotsPerReplica calls one replica takes at once (the function's concurrency)
     */
    public record Load(String function, long version, int replicas, int starting, int inFlight, int waiting, int slotsPerReplica) {
        /** Calls this invoker could start on warm replicas of the function right now. */
        public int freeSlots() {
            return Math.max(0, replicas * slotsPerReplica - inFlight - waiting);
        }
    }

    public Load load(String function) {
        for (Load l : functions) if (l.function().equals(function)) return l;
        return null;
    }

    /** Replicas of every function together: how full the invoker is. */
    public int totalReplicas() {
        int n = 0;
        for (Load l : functions) n += l.replicas() + l.starting();
        return n;
    }

    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("invoker", invoker).put("url", url).put("at", at.toString()).put("leaving", leaving).put("memoryFree", memoryFree);
        ArrayNode fs = o.putArray("functions");
        for (Load l : functions) {
            fs.addObject().put("function", l.function()).put("version", l.version()).put("replicas", l.replicas())
                    .put("starting", l.starting()).put("inFlight", l.inFlight()).put("waiting", l.waiting())
                    .put("slots", l.slotsPerReplica());
        }
        return o.toString();
    }

    /** Parses a record of fn.invokers; anything else on the topic is an IllegalArgumentException with the reason. */
    public static Announcement parse(String json) {
        JsonNode o;
        try {
            o = JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage());
        }
        if (o == null || !o.isObject()) throw new IllegalArgumentException("not a JSON object");
        String invoker = text(o, "invoker");
        String url = text(o, "url");
        Instant at;
        try {
            at = Instant.parse(text(o, "at"));
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalArgumentException("'at' is not a time");
        }
        List<Load> loads = new ArrayList<>();
        for (JsonNode f : o.path("functions")) {
            loads.add(new Load(text(f, "function"), f.path("version").asLong(), f.path("replicas").asInt(), f.path("starting").asInt(),
                    f.path("inFlight").asInt(), f.path("waiting").asInt(), Math.max(1, f.path("slots").asInt(1))));
        }
        long memoryFree = o.path("memoryFree").isIntegralNumber() ? o.path("memoryFree").asLong() : Long.MAX_VALUE;
        return new Announcement(invoker, url, at, o.path("leaving").asBoolean(false), loads, memoryFree);
    }

    private static String text(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) throw new IllegalArgumentException("no '" + field + "'");
        return v.asText();
    }
}
