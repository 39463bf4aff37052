package dev.skiff.server.trigger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.invoker.http.HttpMessage.Header;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Kafka records to HTTP and back, as pure functions (unit-tested without a broker): the call a
 * record becomes, the dead letter of a record that could not be handled, and the result record
 * of a response.
 *
 * <p>Record headers follow the CloudEvents Kafka protocol binding in binary mode, mapped to the
 * HTTP binding: {@code ce_id} becomes {@code ce-id}, {@code content-type} becomes
 * {@code Content-Type}, so a CloudEvents SDK in the function reads the event as if it had been
 * POSTed to it. Every other header comes as {@code X-Kafka-Header-<name>}.
 */
public final class TriggerRecords {
    public static final int MAX_ERROR_BYTES = 1024;
    /** RFC 9110 token: what may stand in an HTTP header name. */
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    private static final ObjectMapper JSON = new ObjectMapper();

    private TriggerRecords() {}

    /**
     * The same id for every delivery of a record to the same trigger (retries, and a re-delivery
     * after a crash or rebalance), so a function can tell a repeat from a new record.
     */
    public static String callId(String function, String trigger, ConsumerRecord<?, ?> r) {
        String name = "skiff-trigger/" + function + "/" + trigger + "/" + r.topic() + "/" + r.partition() + "/" + r.offset();
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** A batch's call id: the same for the same records, so a redelivered batch is recognisable too. */
    public static String batchCallId(String function, String trigger, List<ConsumerRecord<byte[], byte[]>> records) {
        StringBuilder name = new StringBuilder("skiff-trigger-batch/" + function + "/" + trigger);
        for (ConsumerRecord<?, ?> r : records) name.append('/').append(r.topic()).append('/').append(r.partition()).append('/').append(r.offset());
        return UUID.nameUUIDFromBytes(name.toString().getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** The HTTP headers of the call a record becomes. */
    public static List<Header> requestHeaders(ConsumerRecord<byte[], byte[]> r) {
        List<Header> h = new ArrayList<>();
        h.add(new Header("X-Kafka-Topic", r.topic()));
        h.add(new Header("X-Kafka-Partition", Integer.toString(r.partition())));
        h.add(new Header("X-Kafka-Offset", Long.toString(r.offset())));
        h.add(new Header("X-Kafka-Timestamp", Long.toString(r.timestamp())));
        if (r.key() != null) {
            String key = text(r.key());
            if (key != null) h.add(new Header("X-Kafka-Key", key));
            else h.add(new Header("X-Kafka-Key-Base64", Base64.getEncoder().encodeToString(r.key())));
        }
        for (org.apache.kafka.common.header.Header kh : r.headers()) {
            String name = httpName(kh.key());
            if (name == null) continue; // not expressible as an HTTP header name
            byte[] raw = kh.value() == null ? new byte[0] : kh.value();
            String value = text(raw);
            if (value != null) h.add(new Header(name, value));
            else h.add(new Header(name + "-Base64", Base64.getEncoder().encodeToString(raw)));
        }
        return h;
    }

    /** The HTTP name of a record header, or null when it cannot be one. */
    static String httpName(String kafkaName) {
        if (kafkaName == null || !TOKEN.matcher(kafkaName).matches()) return null;
        if (kafkaName.equalsIgnoreCase("content-type")) return "Content-Type";
        if (kafkaName.length() > 3 && kafkaName.regionMatches(true, 0, "ce_", 0, 3)) return "ce-" + kafkaName.substring(3);
        return "X-Kafka-Header-" + kafkaName;
    }

    /** The bytes as a header value: valid UTF-8 without control characters (CR/LF would split the header), else null. */
    static String text(byte[] bytes) {
        String s = utf8(bytes);
        if (s == null) return null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 && c != '\t' || c == 0x7f) return null;
        }
        return s;
    }

    /** What the dead letter says about why: the error or the function's response, cut to 1 KiB. */
    public record Failure(int status, int attempts, String error) {}

    /**
     * The record as it came (key, value, headers), plus where it came from and why it is here, so
     * an operator can read the reason and produce it back onto its topic as is.
     */
    public static ProducerRecord<byte[], byte[]> deadLetter(String dlqTopic, String function, String trigger, ConsumerRecord<byte[], byte[]> r,
            Failure why) {
        Headers h = new RecordHeaders(r.headers().toArray());
        put(h, "skiff-dlq-topic", r.topic());
        put(h, "skiff-dlq-partition", Integer.toString(r.partition()));
        put(h, "skiff-dlq-offset", Long.toString(r.offset()));
        put(h, "skiff-dlq-function", function);
        put(h, "skiff-dlq-trigger", trigger);
        put(h, "skiff-dlq-status", Integer.toString(why.status()));
        put(h, "skiff-dlq-error", truncate(why.error() == null ? "" : why.error()));
        put(h, "skiff-dlq-attempts", Integer.toString(why.attempts()));
        return new ProducerRecord<>(dlqTopic, null, r.key(), r.value(), h);
    }

    /** The response as a record of the result topic: keyed like its input, so results of a key stay in one partition. */
    public static ProducerRecord<byte[], byte[]> result(String resultTopic, ConsumerRecord<byte[], byte[]> r, int status, String callId,
            List<Header> responseHeaders, byte[] body) {
        Headers h = new RecordHeaders();
        put(h, "skiff-source-topic", r.topic());
        put(h, "skiff-source-partition", Integer.toString(r.partition()));
        put(h, "skiff-source-offset", Long.toString(r.offset()));
        put(h, "skiff-status", Integer.toString(status));
        put(h, "skiff-call-id", callId);
        for (Header rh : responseHeaders) {
            if (rh.name().equalsIgnoreCase("Content-Type")) put(h, "content-type", rh.value());
        }
        return new ProducerRecord<>(resultTopic, null, r.key(), body, h);
    }

    /**
     * The body of a batch call: a JSON array with one object per record, in order. Key, value and
     * header values are strings when they are text, else under {@code keyBase64},
     * {@code valueBase64} and {@code headersBase64}; a null key or value (a tombstone) is null.
     */
    public static byte[] batchBody(List<ConsumerRecord<byte[], byte[]>> records) {
        ArrayNode array = JSON.createArrayNode();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            ObjectNode o = array.addObject();
            o.put("topic", r.topic());
            o.put("partition", r.partition());
            o.put("offset", r.offset());
            o.put("timestamp", r.timestamp());
            bytes(o, "key", r.key());
            ObjectNode text = JSON.createObjectNode();
            ObjectNode binary = JSON.createObjectNode();
            for (org.apache.kafka.common.header.Header kh : r.headers()) {
                byte[] raw = kh.value() == null ? new byte[0] : kh.value();
                String value = utf8(raw);
                if (value != null) text.put(kh.key(), value);
                else binary.put(kh.key(), Base64.getEncoder().encodeToString(raw));
            }
            o.set("headers", text);
            if (!binary.isEmpty()) o.set("headersBase64", binary);
            bytes(o, "value", r.value());
        }
        try {
            return JSON.writeValueAsBytes(array);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree that cannot be written", e);
        }
    }

    private static void bytes(ObjectNode o, String field, byte[] raw) {
        if (raw == null) {
            o.putNull(field);
            return;
        }
        String text = utf8(raw);
        if (text != null) o.put(field, text);
        else o.put(field + "Base64", Base64.getEncoder().encodeToString(raw));
    }

    /** Valid UTF-8 as a string (control characters allowed: JSON escapes them), else null. */
    private static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** One record's share of a batch response: what goes to the result topic. */
    public record BatchResult(byte[] body, String contentType) {}

    /**
     * The results of a batch call, one per record: the response must be a JSON array of exactly
     * as many elements; a string element's result is its UTF-8 text, any other its JSON text.
     *
     * @throws IllegalArgumentException saying what is wrong with the response, for the dead letter
     */
    public static List<BatchResult> batchResults(byte[] body, int records) {
        JsonNode tree;
        try {
            tree = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the response to a batch of " + records + " is not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new IllegalStateException("reading bytes in memory", e);
        }
        if (tree == null || !tree.isArray() || tree.size() != records) {
            String got = tree == null || tree.isMissingNode() ? "an empty body"
                    : tree.isArray() ? "an array of " + tree.size() : "a JSON " + tree.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
            throw new IllegalArgumentException("the response to a batch of " + records + " records must be a JSON array of "
                    + records + " results, one per record in order; got " + got);
        }
        List<BatchResult> results = new ArrayList<>(records);
        for (JsonNode element : tree) {
            results.add(element.isTextual()
                    ? new BatchResult(element.textValue().getBytes(StandardCharsets.UTF_8), "text/plain; charset=utf-8")
                    : new BatchResult(element.toString().getBytes(StandardCharsets.UTF_8), "application/json"));
        }
        return results;
    }

    /** At most 1 KiB of UTF-8, cut on a character boundary. */
    static String truncate(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= MAX_ERROR_BYTES) return s;
        int end = MAX_ERROR_BYTES;
        while (end > 0 && (b[end] & 0xC0) == 0x80) end--; // do not split a multi-byte character
        return new String(b, 0, end, StandardCharsets.UTF_8);
    }

    private static void put(Headers h, String name, String value) {
        h.remove(name);
        h.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
