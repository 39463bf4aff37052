package dev.skiff.server.async;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.invoker.http.HttpMessage.Header;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The records on the async topics, written and read by hand so that a foreign or broken record is
 * a {@link MalformedMessage} with a reason (it goes to the dead-letter topic), never an exception
 * that stops the worker.
 *
 * <p>On fn.async the record value is the request body as it came, unencoded (so the topic's size
 * limit is the body limit plus a little, not 4/3 of it), and the rest of the call is JSON in the
 * record header {@value #CALL_HEADER}; the key is the call id. On fn.async.results the value is a
 * {@link CallResult} as JSON, keyed by call id.
 */
public final class AsyncMessages {
    public static final String CALL_HEADER = "skiff-call";
    private static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private AsyncMessages() {}

    /** A record that cannot be used; the message says why. */
    public static final class MalformedMessage extends Exception {
        MalformedMessage(String reason) {
            super(reason, null, false, false);
        }
    }

    public static ProducerRecord<String, byte[]> callRecord(AsyncCall c) {
        ObjectNode n = JSON.createObjectNode();
        n.put("callId", c.callId()).put("function", c.function()).put("method", c.method()).put("path", c.path())
                .put("query", c.query()).put("acceptedAt", c.acceptedAt().toString()).put("attempt", c.attempt());
        if (c.callbackUrl() != null) n.put("callbackUrl", c.callbackUrl());
        if (c.notBefore() != null) n.put("notBefore", c.notBefore().toString());
        if (c.lastStatus() != 0) n.put("lastStatus", c.lastStatus());
        if (c.lastError() != null) n.put("lastError", c.lastError());
        ArrayNode hs = n.putArray("headers");
        for (Header h : c.headers()) hs.addArray().add(h.name()).add(h.value());
        Headers headers = new RecordHeaders().add(CALL_HEADER, n.toString().getBytes(StandardCharsets.UTF_8));
        return new ProducerRecord<>(AsyncTopics.CALLS, null, c.callId(), c.body(), headers);
    }

    public static AsyncCall parseCall(Headers headers, byte[] value) throws MalformedMessage {
        var h = headers == null ? null : headers.lastHeader(CALL_HEADER);
        if (h == null || h.value() == null) throw new MalformedMessage("no '" + CALL_HEADER + "' header: not a Skiff async call");
        JsonNode n;
        try {
            n = JSON.readTree(h.value());
        } catch (IOException e) {
            throw new MalformedMessage("the '" + CALL_HEADER + "' header is not JSON");
        }
        if (n == null || !n.isObject()) throw new MalformedMessage("the '" + CALL_HEADER + "' header is not a JSON object");
        List<Header> hs = new ArrayList<>();
        JsonNode arr = n.get("headers");
        if (arr != null) {
            if (!arr.isArray()) throw new MalformedMessage("'headers' is not an array");
            for (JsonNode pair : arr) {
                if (!pair.isArray() || pair.size() != 2 || !pair.get(0).isTextual() || !pair.get(1).isTextual()) {
                    throw new MalformedMessage("a header is not a [name, value] pair of strings");
                }
                hs.add(new Header(pair.get(0).asText(), pair.get(1).asText()));
            }
        }
        JsonNode attempt = n.get("attempt");
        if (attempt == null || !attempt.isIntegralNumber() || attempt.asInt() < 1) throw new MalformedMessage("'attempt' is not a number of 1 or more");
        JsonNode lastStatus = n.get("lastStatus");
        return new AsyncCall(text(n, "callId", true), text(n, "function", true), text(n, "method", true), text(n, "path", false),
                text(n, "query", false), hs, value, instant(n, "acceptedAt", true), text(n, "callbackUrl", false), attempt.asInt(),
                instant(n, "notBefore", false), lastStatus != null && lastStatus.canConvertToInt() ? lastStatus.asInt() : 0,
                text(n, "lastError", false));
    }

    public static byte[] resultJson(CallResult r) {
        try {
            return JSON.writeValueAsBytes(r);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static CallResult parseResult(byte[] value) throws MalformedMessage {
        if (value == null) throw new MalformedMessage("empty result");
        try {
            CallResult r = JSON.readValue(value, CallResult.class);
            if (r == null || r.callId() == null || r.status() == null || CallResult.rank(r.status()) < 0) {
                throw new MalformedMessage("not a call result");
            }
            return r;
        } catch (IOException e) {
            throw new MalformedMessage("not a call result: " + e.getMessage());
        }
    }

    private static String text(JsonNode n, String field, boolean required) throws MalformedMessage {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            if (required) throw new MalformedMessage("no '" + field + "'");
            return null;
        }
        if (!v.isTextual() || (required && v.asText().isBlank())) throw new MalformedMessage("'" + field + "' is not text");
        return v.asText();
    }

    private static Instant instant(JsonNode n, String field, boolean required) throws MalformedMessage {
        String t = text(n, field, required);
        if (t == null) return null;
        try {
            return Instant.parse(t);
        } catch (DateTimeParseException e) {
            throw new MalformedMessage("'" + field + "' is not an ISO-8601 instant");
        }
    }
}
