package dev.skiff.server.async;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.skiff.invoker.http.HttpMessage.Header;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;

/**
 * Where an async call stands: the record on fn.async.results (keyed by call id) and the answer of
 * {@code GET /v1/calls/{id}}. {@code status} is queued (waiting for its first or next attempt),
 * running, succeeded (the function answered below 400), failed (it answered a 4xx other than
 * 429: retrying would not help), or dead (retries used up; the call is on fn.async.dlq).
 *
 * @param attempts      attempts started so far (for queued: the one it waits for)
 * @param statusCode    the function's status (or the invoker's, for a crash or timeout) of the latest attempt that ended
 * @param body          the response body: text when it is UTF-8 ({@code bodyEncoding} "utf-8"), else base64 ("base64")
 * @param bodyTruncated the body was longer than skiff.async.max-result-body-bytes and is cut there
 * @param error         a short code when the latest attempt got no answer from the function (function_timeout, …)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CallResult(String callId, String function, String status, int attempts, Integer statusCode, List<Header> headers,
        String body, String bodyEncoding, Boolean bodyTruncated, String error, String message, String acceptedAt,
        String updatedAt, String nextAttemptAt) {
    public static final String QUEUED = "queued";
    public static final String RUNNING = "running";
    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";
    public static final String DEAD = "dead";

    public static CallResult queued(AsyncCall c, Instant now) {
        return new CallResult(c.callId(), c.function(), QUEUED, c.attempt(), c.lastStatus() == 0 ? null : c.lastStatus(), null, null,
                null, null, null, c.lastError(), c.acceptedAt().toString(), now.toString(),
                c.notBefore() == null ? null : c.notBefore().toString());
    }

    public static CallResult running(AsyncCall c, Instant now) {
        return new CallResult(c.callId(), c.function(), RUNNING, c.attempt(), null, null, null, null, null, null, null,
                c.acceptedAt().toString(), now.toString(), null);
    }

    /** A final or retried outcome of an attempt the function answered. */
    public static CallResult answered(AsyncCall c, String status, int code, List<Header> headers, byte[] body, int maxBody, Instant now) {
        boolean cut = body.length > maxBody;
        byte[] kept = cut ? java.util.Arrays.copyOf(body, maxBody) : body;
        String text = utf8(kept);
        return new CallResult(c.callId(), c.function(), status, c.attempt(), code, headers, text != null ? text : Base64.getEncoder().encodeToString(kept),
                text != null ? "utf-8" : "base64", cut ? Boolean.TRUE : null, null, null, c.acceptedAt().toString(), now.toString(), null);
    }

    /** An attempt that got no answer from the function (crash, timeout, no capacity, not deployed). */
    public static CallResult unanswered(AsyncCall c, String status, int code, String error, String message, Instant now) {
        return new CallResult(c.callId(), c.function(), status, c.attempt(), code, null, null, null, null, error, message,
                c.acceptedAt().toString(), now.toString(), null);
    }

    public boolean isFinal() {
        return rank(status) == 2;
    }

    /** queued 0, running 1, final 2; -1 for anything else. */
    static int rank(String status) {
        return switch (status) {
            case QUEUED -> 0;
            case RUNNING -> 1;
            case SUCCEEDED, FAILED, DEAD -> 2;
            default -> -1;
        };
    }

    /**
     * Whether {@code next} tells more than this one. Records of one call come from several
     * producers (the gateway that accepted it, the workers that ran it), so they may arrive out of
     * order: a final result is never replaced (a duplicate run's final answer is a repeat), and
     * otherwise a later attempt, or a later step of the same attempt, wins.
     */
    public boolean supersededBy(CallResult next) {
        if (isFinal()) return false;
        if (next.isFinal()) return true;
        if (next.attempts != attempts) return next.attempts > attempts;
        return rank(next.status) >= rank(status);
    }

    private static String utf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
