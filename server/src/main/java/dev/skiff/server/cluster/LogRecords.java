package dev.skiff.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.invoker.FunctionLogs;
import java.io.IOException;
import java.time.Instant;

/**
 * A function's output line on {@value #TOPIC} (key = function name, so one function's lines keep
 * their order on one partition), as JSON:
 * {"time":"…","function":"hello","replica":"hello-3f…","stream":"stdout","callId":"…","text":"…","invoker":"host-123"}.
 */
public final class LogRecords {
    public static final String TOPIC = "fn.logs";
    private static final ObjectMapper JSON = new ObjectMapper();

    private LogRecords() {}

    static byte[] toJson(FunctionLogs.Line line, String invoker) {
        ObjectNode o = JSON.createObjectNode()
                .put("time", line.time().toString())
                .put("function", line.function())
                .put("replica", line.replica())
                .put("stream", line.stream())
                .put("callId", line.callId())
                .put("text", line.text())
                .put("invoker", invoker);
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A line from the topic, with the invoker that printed it. */
    record Received(String invoker, FunctionLogs.Line line) {}

    static Received parse(byte[] json) throws IOException {
        JsonNode o = JSON.readTree(json);
        if (!o.hasNonNull("function") || !o.hasNonNull("text")) throw new IOException("not a log line: " + o);
        return new Received(o.path("invoker").asText(""), new FunctionLogs.Line(Instant.parse(o.path("time").asText()),
                o.path("function").asText(), o.path("replica").asText("?"), o.path("stream").asText("stdout"),
                o.hasNonNull("callId") ? o.path("callId").asText() : null, o.path("text").asText()));
    }
}
