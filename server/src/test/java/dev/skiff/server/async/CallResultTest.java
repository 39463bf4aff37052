package dev.skiff.server.async;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.invoker.http.HttpMessage.Header;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** Results that arrive out of order, bodies that are text or not, and the call record's round trip. */
class CallResultTest {
    static final Instant T = Instant.parse("2026-11-23T00:00:00Z");
    static final AsyncCall CALL = new AsyncCall("c1", "fn", "POST", "/p", "a=1", List.of(new Header("X-A", "1"), new Header("X-A", "2")),
            "hello".getBytes(StandardCharsets.UTF_8), T, "http://127.0.0.1:9/cb", 1, null, 0, null);

    @Test
    void aFinalResultIsNeverReplacedAndLaterStepsWin() {
        CallResult queued = CallResult.queued(CALL, T);
        CallResult running = CallResult.running(CALL, T);
        CallResult retryQueued = CallResult.queued(CALL.retry(T.plusSeconds(1), 500, "x"), T);
        CallResult done = CallResult.answered(CALL.retry(T, 500, "x"), CallResult.SUCCEEDED, 200, List.of(), new byte[0], 100, T);
        assertTrue(queued.supersededBy(running));
        assertFalse(running.supersededBy(queued), "the gateway's late 'queued' must not hide 'running'");
        assertTrue(running.supersededBy(retryQueued), "attempt 2 waiting tells more than attempt 1 running");
        assertFalse(retryQueued.supersededBy(running), "attempt 1 running, arriving late");
        assertTrue(retryQueued.supersededBy(done));
        assertFalse(done.supersededBy(queued));
        assertFalse(done.supersededBy(CallResult.unanswered(CALL, CallResult.DEAD, 500, "e", "m", T)), "the first final result stays");
    }

    @Test
    void textBodiesStayTextOthersAreBase64AndLongOnesAreCut() {
        CallResult text = CallResult.answered(CALL, CallResult.SUCCEEDED, 200, List.of(), "héllo".getBytes(StandardCharsets.UTF_8), 100, T);
        assertEquals("héllo", text.body());
        assertEquals("utf-8", text.bodyEncoding());
        assertNull(text.bodyTruncated());
        CallResult binary = CallResult.answered(CALL, CallResult.SUCCEEDED, 200, List.of(), new byte[] {(byte) 0xff, 0, 1}, 100, T);
        assertEquals("/wAB", binary.body());
        assertEquals("base64", binary.bodyEncoding());
        CallResult cut = CallResult.answered(CALL, CallResult.SUCCEEDED, 200, List.of(), "0123456789".getBytes(StandardCharsets.UTF_8), 4, T);
        assertEquals("0123", cut.body());
        assertEquals(Boolean.TRUE, cut.bodyTruncated());
    }

    @Test
    void aResultRoundTripsThroughItsJson() throws Exception {
        CallResult r = CallResult.answered(CALL, CallResult.FAILED, 404, List.of(new Header("Content-Type", "text/plain")),
                "no".getBytes(StandardCharsets.UTF_8), 100, T);
        assertEquals(r, AsyncMessages.parseResult(AsyncMessages.resultJson(r)));
    }

    @Test
    void aCallRoundTripsThroughItsRecord() throws Exception {
        AsyncCall retry = CALL.retry(T.plusSeconds(3), 503, "no capacity");
        ProducerRecord<String, byte[]> rec = AsyncMessages.callRecord(retry);
        assertEquals(AsyncTopics.CALLS, rec.topic());
        assertEquals("c1", rec.key());
        AsyncCall back = AsyncMessages.parseCall(rec.headers(), rec.value());
        assertEquals(2, back.attempt());
        assertEquals(T.plusSeconds(3), back.notBefore());
        assertEquals(503, back.lastStatus());
        assertEquals("no capacity", back.lastError());
        assertEquals(CALL.headers(), back.headers());
        assertEquals("hello", new String(back.body(), StandardCharsets.UTF_8));
        assertEquals("a=1", back.query());
        assertEquals("http://127.0.0.1:9/cb", back.callbackUrl());
    }

    @Test
    void callbackUrlsMustBeAbsoluteHttp() {
        assertTrue(CallbackSender.acceptable("http://example.com/hook"));
        assertTrue(CallbackSender.acceptable("https://127.0.0.1:8443/a?b=c"));
        assertFalse(CallbackSender.acceptable("/relative"));
        assertFalse(CallbackSender.acceptable("ftp://example.com/x"));
        assertFalse(CallbackSender.acceptable("http:///nohost"));
        assertFalse(CallbackSender.acceptable("not a url"));
        assertFalse(CallbackSender.acceptable("mailto:someone@example.com"));
    }
}
