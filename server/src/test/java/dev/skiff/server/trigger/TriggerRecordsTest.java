package dev.skiff.server.trigger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.invoker.http.HttpMessage.Header;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

/** Records to HTTP calls and back (CloudEvents binary mode, dead letters, results), without a broker. */
class TriggerRecordsTest {
    private static ConsumerRecord<byte[], byte[]> record(byte[] key, Map<String, byte[]> headers) {
        RecordHeaders h = new RecordHeaders();
        headers.forEach(h::add);
        return new ConsumerRecord<>("orders", 2, 41L, 1700000000123L, TimestampType.CREATE_TIME, -1, -1, key,
                "body".getBytes(StandardCharsets.UTF_8), h, Optional.empty());
    }

    private static Map<String, String> asMap(List<Header> headers) {
        Map<String, String> m = new LinkedHashMap<>();
        for (Header h : headers) m.put(h.name(), h.value());
        return m;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aRecordBecomesTheDocumentedHeaders() {
        Map<String, byte[]> kh = new LinkedHashMap<>();
        kh.put("ce_id", utf8("evt-1"));
        kh.put("ce_type", utf8("com.example.order"));
        kh.put("content-type", utf8("application/json"));
        kh.put("tenant", utf8("acme"));
        Map<String, String> h = asMap(TriggerRecords.requestHeaders(record(utf8("k-1"), kh)));
        assertEquals("orders", h.get("X-Kafka-Topic"));
        assertEquals("2", h.get("X-Kafka-Partition"));
        assertEquals("41", h.get("X-Kafka-Offset"));
        assertEquals("1700000000123", h.get("X-Kafka-Timestamp"));
        assertEquals("k-1", h.get("X-Kafka-Key"));
        assertEquals("evt-1", h.get("ce-id"));
        assertEquals("com.example.order", h.get("ce-type"));
        assertEquals("application/json", h.get("Content-Type"));
        assertEquals("acme", h.get("X-Kafka-Header-tenant"));
        assertEquals(9, h.size(), h.toString());
    }

    @Test
    void binaryOrControlCharactersGoBase64() {
        byte[] binary = {(byte) 0xff, 0x00, 0x41};
        Map<String, byte[]> kh = new LinkedHashMap<>();
        kh.put("raw", binary);
        kh.put("split", utf8("a\r\nInjected: yes"));
        Map<String, String> h = asMap(TriggerRecords.requestHeaders(record(binary, kh)));
        assertNull(h.get("X-Kafka-Key"));
        assertEquals(Base64.getEncoder().encodeToString(binary), h.get("X-Kafka-Key-Base64"));
        assertEquals(Base64.getEncoder().encodeToString(binary), h.get("X-Kafka-Header-raw-Base64"));
        assertEquals(Base64.getEncoder().encodeToString(utf8("a\r\nInjected: yes")), h.get("X-Kafka-Header-split-Base64"));
        assertTrue(!h.containsKey("Injected"));
    }

    @Test
    void aHeaderNameHttpCannotCarryIsLeftOut() {
        Map<String, String> h = asMap(TriggerRecords.requestHeaders(record(null, Map.of("bad name", utf8("x")))));
        assertTrue(h.keySet().stream().noneMatch(n -> n.contains("bad")), h.toString());
        assertTrue(!h.containsKey("X-Kafka-Key") && !h.containsKey("X-Kafka-Key-Base64"));
    }

    @Test
    void theCallIdIsTheSameForEveryDeliveryOfARecord() {
        ConsumerRecord<byte[], byte[]> r = record(null, Map.of());
        assertEquals(TriggerRecords.callId("f", "t", r), TriggerRecords.callId("f", "t", r));
        assertTrue(!TriggerRecords.callId("f", "t", r).equals(TriggerRecords.callId("f", "other", r)));
    }

    @Test
    void aDeadLetterKeepsTheRecordAndSaysWhy() {
        ConsumerRecord<byte[], byte[]> r = record(utf8("k"), Map.of("tenant", utf8("acme")));
        ProducerRecord<byte[], byte[]> d = TriggerRecords.deadLetter("dlq", "fn", "tr", r, new TriggerRecords.Failure(500, 3, "é".repeat(2000)));
        assertEquals("dlq", d.topic());
        assertEquals("k", new String(d.key(), StandardCharsets.UTF_8));
        assertEquals("body", new String(d.value(), StandardCharsets.UTF_8));
        Map<String, String> h = new LinkedHashMap<>();
        d.headers().forEach(x -> h.put(x.key(), new String(x.value(), StandardCharsets.UTF_8)));
        assertEquals("acme", h.get("tenant"));
        assertEquals("orders", h.get("skiff-dlq-topic"));
        assertEquals("2", h.get("skiff-dlq-partition"));
        assertEquals("41", h.get("skiff-dlq-offset"));
        assertEquals("fn", h.get("skiff-dlq-function"));
        assertEquals("tr", h.get("skiff-dlq-trigger"));
        assertEquals("500", h.get("skiff-dlq-status"));
        assertEquals("3", h.get("skiff-dlq-attempts"));
        assertEquals(1024, h.get("skiff-dlq-error").getBytes(StandardCharsets.UTF_8).length); // cut between characters
    }

    @Test
    void aResultIsKeyedLikeItsInput() {
        ConsumerRecord<byte[], byte[]> r = record(utf8("k"), Map.of());
        ProducerRecord<byte[], byte[]> out = TriggerRecords.result("out", r, 200, "id-1", List.of(new Header("content-type", "text/plain")),
                utf8("done"));
        assertEquals("k", new String(out.key(), StandardCharsets.UTF_8));
        Map<String, String> h = new LinkedHashMap<>();
        out.headers().forEach(x -> h.put(x.key(), new String(x.value(), StandardCharsets.UTF_8)));
        assertEquals(Map.of("skiff-source-topic", "orders", "skiff-source-partition", "2", "skiff-source-offset", "41", "skiff-status", "200",
                "skiff-call-id", "id-1", "content-type", "text/plain"), h);
    }

    @Test
    void aBatchIsAJsonArrayOfTheRecordsInOrderWithBinaryPartsInBase64() throws Exception {
        ConsumerRecord<byte[], byte[]> text = record(utf8("k-1"), Map.of("tenant", utf8("acme"), "sig", new byte[] {(byte) 0xff, 0}));
        ConsumerRecord<byte[], byte[]> binary = new ConsumerRecord<>("orders", 2, 42L, 1700000000124L, TimestampType.CREATE_TIME, -1, -1,
                null, new byte[] {(byte) 0xc3, 0x28}, new RecordHeaders(), Optional.empty());
        ConsumerRecord<byte[], byte[]> tombstone = new ConsumerRecord<>("orders", 2, 43L, 1700000000125L, TimestampType.CREATE_TIME, -1, -1,
                utf8("gone"), null, new RecordHeaders(), Optional.empty());
        com.fasterxml.jackson.databind.JsonNode batch = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(TriggerRecords.batchBody(List.of(text, binary, tombstone)));
        assertEquals(3, batch.size());
        assertEquals("orders", batch.get(0).get("topic").asText());
        assertEquals(2, batch.get(0).get("partition").asInt());
        assertEquals(41L, batch.get(0).get("offset").asLong());
        assertEquals(1700000000123L, batch.get(0).get("timestamp").asLong());
        assertEquals("k-1", batch.get(0).get("key").asText());
        assertEquals("body", batch.get(0).get("value").asText());
        assertEquals("acme", batch.get(0).get("headers").get("tenant").asText());
        assertEquals(Base64.getEncoder().encodeToString(new byte[] {(byte) 0xff, 0}), batch.get(0).get("headersBase64").get("sig").asText());
        assertTrue(batch.get(1).get("key").isNull());
        assertNull(batch.get(1).get("value"), "not text: under valueBase64 only");
        assertEquals(Base64.getEncoder().encodeToString(new byte[] {(byte) 0xc3, 0x28}), batch.get(1).get("valueBase64").asText());
        assertTrue(batch.get(2).get("value").isNull(), "a tombstone's value is null");
        assertEquals(43L, batch.get(2).get("offset").asLong());
    }

    @Test
    void aBatchResponseIsOneResultPerRecordOrItIsRefusedWithTheReason() {
        List<TriggerRecords.BatchResult> results = TriggerRecords.batchResults(utf8("[\"plain\", {\"n\": 1}, null]"), 3);
        assertEquals("plain", new String(results.get(0).body(), StandardCharsets.UTF_8));
        assertEquals("text/plain; charset=utf-8", results.get(0).contentType());
        assertEquals("{\"n\":1}", new String(results.get(1).body(), StandardCharsets.UTF_8));
        assertEquals("application/json", results.get(1).contentType());
        assertEquals("null", new String(results.get(2).body(), StandardCharsets.UTF_8));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> TriggerRecords.batchResults(utf8("[1, 2]"), 3));
        assertTrue(e.getMessage().contains("JSON array of 3 results") && e.getMessage().contains("an array of 2"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> TriggerRecords.batchResults(utf8("ok"), 1));
        assertTrue(e.getMessage().contains("not JSON"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> TriggerRecords.batchResults(utf8("{}"), 1));
        assertTrue(e.getMessage().contains("a JSON object"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> TriggerRecords.batchResults(new byte[0], 1));
        assertTrue(e.getMessage().contains("an empty body"), e.getMessage());
    }

    @Test
    void aBatchCallIdIsTheSameForTheSameRecords() {
        ConsumerRecord<byte[], byte[]> a = record(utf8("k"), Map.of());
        ConsumerRecord<byte[], byte[]> b = new ConsumerRecord<>("orders", 2, 42L, 1L, TimestampType.CREATE_TIME, -1, -1, null, utf8("x"),
                new RecordHeaders(), Optional.empty());
        assertEquals(TriggerRecords.batchCallId("f", "t", List.of(a, b)), TriggerRecords.batchCallId("f", "t", List.of(a, b)));
        assertTrue(!TriggerRecords.batchCallId("f", "t", List.of(a, b)).equals(TriggerRecords.batchCallId("f", "t", List.of(a))));
    }
}
