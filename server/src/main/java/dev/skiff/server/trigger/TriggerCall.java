package dev.skiff.server.trigger;

import dev.skiff.gateway.FunctionStore;
import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.InvocationRequest;
import dev.skiff.invoker.InvocationResponse;
import dev.skiff.invoker.Invoker;
import dev.skiff.invoker.TriggerConfig;
import dev.skiff.invoker.http.HttpMessage.Header;
import dev.skiff.server.async.RetryPolicy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.jboss.logging.Logger;

/**
 * One record of a trigger, from its first attempt to its outcome: call the function through the
 * injected {@link Invoker} (local, or routed to an invoker process), retry in place what
 * {@code retry.on} names with the {@link RetryPolicy}'s full-jitter backoff, and say what must
 * be written before the record counts as done: the result record, the dead letter, or nothing.
 * It writes nothing itself, because the two delivery modes write differently (acknowledged one
 * by one, or inside a transaction).
 */
final class TriggerCall {
    private static final Logger LOG = Logger.getLogger(TriggerCall.class);

    enum Kind { SUCCEEDED, DEAD_LETTERED, FUNCTION_GONE, ABANDONED }

    /** {@code output}: what must be on the broker before the record's offset may be committed (null: nothing). */
    record Outcome(Kind kind, ProducerRecord<byte[], byte[]> output, int attempts) {}

    private final String function;
    private final TriggerConfig trigger;
    private final FunctionStore store;
    private final Invoker invoker;
    private final TriggerMetrics metrics;
    private final RetryPolicy policy;

    TriggerCall(String function, TriggerConfig trigger, FunctionStore store, Invoker invoker, TriggerMetrics metrics) {
        this.function = function;
        this.trigger = trigger;
        this.store = store;
        this.invoker = invoker;
        this.metrics = metrics;
        this.policy = new RetryPolicy(trigger.retry().maxAttempts(), trigger.retry().backoff(), trigger.retry().maxBackoff());
    }

    /** {@code abandoned}: the partition went elsewhere or the consumer stops; the record is left to whoever reads it next. */
    Outcome run(ConsumerRecord<byte[], byte[]> r, BooleanSupplier abandoned) throws InterruptedException {
        String callId = TriggerRecords.callId(function, trigger.name(), r);
        List<Header> headers = TriggerRecords.requestHeaders(r);
        for (int attempt = 1; ; attempt++) {
            if (abandoned.getAsBoolean()) return new Outcome(Kind.ABANDONED, null, attempt - 1);
            FunctionDeployment d = store.get(function).map(FunctionStore.Stored::deployment).orElse(null);
            // Deleted: not the record's fault, so no dead letter; the consumer stops and the manager cleans up.
            if (d == null) return new Outcome(Kind.FUNCTION_GONE, null, attempt - 1);
            List<Header> h = new ArrayList<>(headers);
            h.add(new Header("X-Skiff-Attempt", Integer.toString(attempt)));
            InvocationRequest request = new InvocationRequest(callId, "POST", trigger.path(), "", h, r.value());
            int status;
            String error;
            List<Header> responseHeaders = List.of();
            byte[] body = new byte[0];
            try {
                InvocationResponse resp = invoker.invoke(d, request);
                status = resp.status();
                responseHeaders = resp.headers();
                body = resp.body();
                error = new String(body, 0, Math.min(body.length, 4 * TriggerRecords.MAX_ERROR_BYTES), StandardCharsets.UTF_8);
            } catch (InvocationException e) {
                status = e.status();
                error = e.error() + ": " + e.getMessage();
            } catch (RuntimeException e) {
                LOG.errorf(e, "trigger %s/%s at %s-%d@%d", function, trigger.name(), r.topic(), r.partition(), r.offset());
                status = 500;
                error = "internal_error: " + e;
            }
            RetryPolicy.Verdict verdict = policy.verdict(status, attempt, trigger.retry()::retries);
            switch (verdict) {
                case SUCCEEDED -> {
                    ProducerRecord<byte[], byte[]> result = trigger.resultTopic() == null ? null
                            : TriggerRecords.result(trigger.resultTopic(), r, status, callId, responseHeaders, body);
                    return new Outcome(Kind.SUCCEEDED, result, attempt);
                }
                case RETRY -> {
                    metrics.retried(function, trigger.name());
                    Duration wait = policy.backoff(attempt, ThreadLocalRandom.current()::nextDouble);
                    LOG.debugf("trigger %s/%s at %s-%d@%d, attempt %d: %d; again in %d ms", function, trigger.name(), r.topic(),
                            r.partition(), r.offset(), attempt, status, wait.toMillis());
                    if (!sleep(wait, abandoned)) return new Outcome(Kind.ABANDONED, null, attempt);
                }
                default -> { // FAILED (not retried) or DEAD (retries used up)
                    LOG.warnf("trigger %s/%s: %s-%d@%d goes to %s after %d attempt(s): %d %s", function, trigger.name(), r.topic(),
                            r.partition(), r.offset(), trigger.deadLetterTopic(), attempt, status, TriggerRecords.truncate(error));
                    return new Outcome(Kind.DEAD_LETTERED, TriggerRecords.deadLetter(trigger.deadLetterTopic(), function, trigger.name(), r,
                            new TriggerRecords.Failure(status, attempt, error)), attempt);
                }
            }
        }
    }

    /** Waits, in short steps so that a stop or rebalance is not held up by a long backoff; false when abandoned. */
    static boolean sleep(Duration wait, BooleanSupplier abandoned) throws InterruptedException {
        long end = System.nanoTime() + wait.toNanos();
        while (true) {
            if (abandoned.getAsBoolean()) return false;
            long left = (end - System.nanoTime()) / 1_000_000;
            if (left <= 0) return true;
            Thread.sleep(Math.min(left, 100));
        }
    }
}
