package dev.skiff.server.async;

import dev.skiff.gateway.FunctionStore;
import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.InvocationRequest;
import dev.skiff.invoker.InvocationResponse;
import dev.skiff.invoker.Invoker;
import dev.skiff.invoker.http.HttpMessage.Header;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.jboss.logging.Logger;

/**
 * Runs one record of fn.async to its next durable step, on the record's own virtual thread:
 * wait for its retry time, run the function through the {@link Invoker} (whichever invoker
 * implementation is injected: local, or a router to invoker processes), then, by the
 * {@link RetryPolicy}, write the final result (and for a dead call the dead letter, and the
 * callback) or write the next attempt back to fn.async. It returns only once that step is
 * acknowledged by the broker: the worker commits the record's offset after it, so a kill at any
 * point before re-runs the record, and none after loses it.
 *
 * <p>{@code revoked} says the record's partition went to another worker (or this one stopped):
 * then the new owner runs it again, and this run only records a final result it already has
 * (harmless: the first final result of a call wins) and writes no retry, dead letter or callback.
 */
@ApplicationScoped
public class CallRunner {
    private static final Logger LOG = Logger.getLogger(CallRunner.class);

    @Inject
    Invoker invoker;

    @Inject
    FunctionStore store;

    @Inject
    AsyncConfig config;

    @Inject
    AsyncProducer producer;

    @Inject
    ResultWriter results;

    @Inject
    CallbackSender callbacks;

    @Inject
    AsyncMetrics metrics;

    private Semaphore slots;
    private final AtomicInteger running = new AtomicInteger();

    /** How an attempt ended: the function's answer, or (answered false) why there was none. */
    record Attempt(boolean answered, int status, List<Header> headers, byte[] body, String error, String message) {
        String describe() {
            return answered ? "the function answered " + status : status + " " + error + ": " + message;
        }
    }

    private synchronized Semaphore slots() {
        if (slots == null) slots = new Semaphore(Math.max(1, config.concurrency()));
        return slots;
    }

    RetryPolicy policy() {
        return new RetryPolicy(config.maxAttempts(), config.backoffBase(), config.backoffMax());
    }

    /** Calls running right now (not those waiting for their retry time). */
    int running() {
        return running.get();
    }

    void run(ConsumerRecord<String, byte[]> record, BooleanSupplier revoked) throws InterruptedException {
        AsyncCall call;
        try {
            call = AsyncMessages.parseCall(record.headers(), record.value());
        } catch (AsyncMessages.MalformedMessage e) {
            LOG.warnf("%s-%d@%d is not an async call (%s): to %s", record.topic(), record.partition(), record.offset(), e.getMessage(),
                    AsyncTopics.DEAD_LETTERS);
            producer.sendUntilAcked(deadLetter(record, record.headers(), "malformed: " + e.getMessage(), 0, 0, null), () -> !revoked.getAsBoolean());
            return;
        }
        if (!awaitNotBefore(call, revoked)) return;
        Attempt attempt;
        Semaphore s = slots();
        s.acquire();
        running.incrementAndGet();
        try {
            if (revoked.getAsBoolean()) return;
            attempt = attempt(call);
        } finally {
            running.decrementAndGet();
            s.release();
        }
        RetryPolicy.Verdict verdict = policy().verdict(attempt.status(), call.attempt());
        Instant now = Instant.now();
        if (verdict == RetryPolicy.Verdict.RETRY) {
            if (revoked.getAsBoolean()) return;
            Duration wait = policy().backoff(call.attempt(), ThreadLocalRandom.current()::nextDouble);
            AsyncCall next = call.retry(now.plus(wait), attempt.status(), attempt.describe());
            LOG.infof("call %s to %s, attempt %d of %d: %s; next in %d ms", call.callId(), call.function(), call.attempt(),
                    config.maxAttempts(), attempt.describe(), wait.toMillis());
            if (!producer.sendUntilAcked(AsyncMessages.callRecord(next), () -> !revoked.getAsBoolean())) return;
            metrics.retried(call.function());
            results.update(CallResult.queued(next, now));
            return;
        }
        String status = switch (verdict) {
            case SUCCEEDED -> CallResult.SUCCEEDED;
            case FAILED -> CallResult.FAILED;
            default -> CallResult.DEAD;
        };
        CallResult result = attempt.answered()
                ? CallResult.answered(call, status, attempt.status(), attempt.headers(), attempt.body(), config.maxResultBodyBytes(), now)
                : CallResult.unanswered(call, status, attempt.status(), attempt.error(), attempt.message(), now);
        // The final result is wanted even from a run whose partition moved on (it is a true
        // outcome); then only one try, so that a stopped worker does not linger on a dead broker.
        if (!results.finish(result, () -> !revoked.getAsBoolean()) || revoked.getAsBoolean()) return;
        if (verdict == RetryPolicy.Verdict.DEAD) {
            String reason = "retries exhausted: " + attempt.describe() + " on attempt " + call.attempt() + " of " + config.maxAttempts();
            LOG.warnf("call %s to %s is dead: %s", call.callId(), call.function(), reason);
            Headers headers = AsyncMessages.callRecord(call).headers();
            if (!producer.sendUntilAcked(deadLetter(record, headers, reason, attempt.status(), call.attempt(), attempt.error()),
                    () -> !revoked.getAsBoolean())) return;
        }
        metrics.finished(call.function(), status);
        if (call.callbackUrl() != null) callbacks.deliver(call, result, attempt);
    }

    /** Sleeps until the call's retry time; false when the partition was taken away meanwhile. */
    private static boolean awaitNotBefore(AsyncCall call, BooleanSupplier revoked) throws InterruptedException {
        if (call.notBefore() == null) return true;
        while (true) {
            if (revoked.getAsBoolean()) return false;
            long left = Duration.between(Instant.now(), call.notBefore()).toMillis();
            if (left <= 0) return true;
            Thread.sleep(Math.min(left, 500));
        }
    }

    private Attempt attempt(AsyncCall call) {
        FunctionDeployment d = store.get(call.function()).map(FunctionStore.Stored::deployment).orElse(null);
        if (d == null) {
            return new Attempt(false, 404, List.of(), new byte[0], "function_not_found",
                    "no function named '" + call.function() + "' is deployed (any more)");
        }
        results.update(CallResult.running(call, Instant.now()));
        List<Header> headers = new ArrayList<>(call.headers());
        headers.add(new Header("X-Skiff-Attempt", Integer.toString(call.attempt())));
        InvocationRequest request = new InvocationRequest(call.callId(), call.method(), call.path(), call.query(), headers, call.body());
        try {
            InvocationResponse r = invoker.invoke(d, request);
            return new Attempt(true, r.status(), r.headers(), r.body(), null, null);
        } catch (InvocationException e) {
            return new Attempt(false, e.status(), List.of(), new byte[0], e.error(), e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("call " + call.callId() + " to " + call.function(), e);
            return new Attempt(false, 500, List.of(), new byte[0], "internal_error", String.valueOf(e.getMessage()));
        }
    }

    /**
     * The call as it came off fn.async (key, body, the call header), plus why it ended there and
     * where it came from, so an operator can read the reason and replay it onto fn.async as is.
     */
    static ProducerRecord<String, byte[]> deadLetter(ConsumerRecord<String, byte[]> original, Headers callHeaders, String reason,
            int lastStatus, int attempts, String error) {
        Headers h = new RecordHeaders(callHeaders.toArray());
        put(h, "skiff-dlq-reason", reason);
        put(h, "skiff-dlq-last-status", Integer.toString(lastStatus));
        put(h, "skiff-dlq-attempts", Integer.toString(attempts));
        if (error != null) put(h, "skiff-dlq-error", error);
        put(h, "skiff-dlq-original-topic", original.topic());
        put(h, "skiff-dlq-original-partition", Integer.toString(original.partition()));
        put(h, "skiff-dlq-original-offset", Long.toString(original.offset()));
        put(h, "skiff-dlq-at", Instant.now().toString());
        return new ProducerRecord<>(AsyncTopics.DEAD_LETTERS, null, original.key(), original.value(), h);
    }

    private static void put(Headers h, String name, String value) {
        h.remove(name);
        h.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
