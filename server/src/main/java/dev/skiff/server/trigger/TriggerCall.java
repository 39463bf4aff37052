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
 * Records of a trigger, from their first attempt to their outcomes: call the function through the
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

    /**
     * The outcomes of records that start together (a batch of the {@link LaneDispatcher}), one
     * per record in order. With {@code batchSize} 1 a record is one call whose body is its value.
     * Above, they are one call whose body is the JSON array of {@link TriggerRecords#batchBody};
     * a batch that fails for good (retries used up, an error not retried, a response that is not
     * one result per record) is split: its records run again one by one, in order, each as a
     * batch of one with fresh attempts, so only a record that fails alone goes to the dead
     * letters. Once a record is abandoned or finds its function gone, the rest share that outcome.
     *
     * @param abandoned the partitions went elsewhere or the consumer stops: left to whoever reads them next
     */
    List<Outcome> run(List<ConsumerRecord<byte[], byte[]>> records, BooleanSupplier abandoned) throws InterruptedException {
        if (trigger.batchSize() == 1 && records.size() == 1) return List.of(run(records.get(0), abandoned));
        ConsumerRecord<byte[], byte[]> first = records.get(0);
        String callId = records.size() == 1 ? TriggerRecords.callId(function, trigger.name(), first)
                : TriggerRecords.batchCallId(function, trigger.name(), records);
        List<Header> headers = List.of(new Header("Content-Type", "application/json"),
                new Header("X-Skiff-Batch-Size", Integer.toString(records.size())));
        Attempts a = attempts(callId, headers, TriggerRecords.batchBody(records), abandoned,
                body -> TriggerRecords.batchResults(body, records.size()), "batch of " + records.size() + " from " + where(first));
        List<Outcome> outcomes = new ArrayList<>(records.size());
        switch (a.kind()) {
            case SUCCEEDED -> {
                for (int i = 0; i < records.size(); i++) {
                    ProducerRecord<byte[], byte[]> result = null;
                    if (trigger.resultTopic() != null) {
                        TriggerRecords.BatchResult r = a.results().get(i);
                        result = TriggerRecords.result(trigger.resultTopic(), records.get(i), a.status(), callId,
                                List.of(new Header("Content-Type", r.contentType())), r.body());
                    }
                    outcomes.add(new Outcome(Kind.SUCCEEDED, result, a.attempts()));
                }
            }
            case DEAD_LETTERED -> {
                if (records.size() > 1) {
                    LOG.infof("trigger %s/%s: a batch of %d from %s failed (%d %s); running its records one by one", function,
                            trigger.name(), records.size(), where(first), a.status(), TriggerRecords.truncate(a.error()));
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        Outcome o = outcomes.isEmpty() || !ended(outcomes.get(outcomes.size() - 1))
                                ? run(List.of(r), abandoned).get(0) : outcomes.get(outcomes.size() - 1);
                        outcomes.add(o);
                    }
                } else {
                    outcomes.add(deadLetter(first, a));
                }
            }
            default -> records.forEach(r -> outcomes.add(new Outcome(a.kind(), null, a.attempts())));
        }
        return outcomes;
    }

    private static boolean ended(Outcome o) {
        return o.kind() == Kind.ABANDONED || o.kind() == Kind.FUNCTION_GONE;
    }

    /** A record as one call: its value is the body, the rest is in headers ({@link TriggerRecords#requestHeaders}). */
    private Outcome run(ConsumerRecord<byte[], byte[]> r, BooleanSupplier abandoned) throws InterruptedException {
        String callId = TriggerRecords.callId(function, trigger.name(), r);
        Attempts a = attempts(callId, TriggerRecords.requestHeaders(r), r.value(), abandoned, body -> null, where(r));
        return switch (a.kind()) {
            case SUCCEEDED -> new Outcome(Kind.SUCCEEDED, trigger.resultTopic() == null ? null
                    : TriggerRecords.result(trigger.resultTopic(), r, a.status(), callId, a.headers(), a.body()), a.attempts());
            case DEAD_LETTERED -> deadLetter(r, a);
            default -> new Outcome(a.kind(), null, a.attempts());
        };
    }

    private Outcome deadLetter(ConsumerRecord<byte[], byte[]> r, Attempts a) {
        LOG.warnf("trigger %s/%s: %s goes to %s after %d attempt(s): %d %s", function, trigger.name(), where(r),
                trigger.deadLetterTopic(), a.attempts(), a.status(), TriggerRecords.truncate(a.error()));
        return new Outcome(Kind.DEAD_LETTERED, TriggerRecords.deadLetter(trigger.deadLetterTopic(), function, trigger.name(), r,
                new TriggerRecords.Failure(a.status(), a.attempts(), a.error())), a.attempts());
    }

    private static String where(ConsumerRecord<?, ?> r) {
        return r.topic() + "-" + r.partition() + "@" + r.offset();
    }

    /** How a call ended after its attempts; DEAD_LETTERED here means failed for good. */
    private record Attempts(Kind kind, int status, List<Header> headers, byte[] body, List<TriggerRecords.BatchResult> results,
            String error, int attempts) {}

    /** Reads a successful response's body; throws IllegalArgumentException when it is not what was asked for (not retried). */
    private interface ResponseReader {
        List<TriggerRecords.BatchResult> read(byte[] body);
    }

    /** One call, retried in place as {@code retry} says, with the same call id every time. */
    private Attempts attempts(String callId, List<Header> headers, byte[] body, BooleanSupplier abandoned, ResponseReader reader, String what)
            throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            if (abandoned.getAsBoolean()) return new Attempts(Kind.ABANDONED, 0, List.of(), null, null, null, attempt - 1);
            FunctionDeployment d = store.get(function).map(FunctionStore.Stored::deployment).orElse(null);
            // Deleted: not the record's fault, so no dead letter; the consumer stops and the manager cleans up.
            if (d == null) return new Attempts(Kind.FUNCTION_GONE, 0, List.of(), null, null, null, attempt - 1);
            List<Header> h = new ArrayList<>(headers);
            h.add(new Header("X-Skiff-Attempt", Integer.toString(attempt)));
            InvocationRequest request = new InvocationRequest(callId, "POST", trigger.path(), "", h, body);
            int status;
            String error;
            List<Header> responseHeaders = List.of();
            byte[] responseBody = new byte[0];
            try {
                InvocationResponse resp = invoker.invoke(d, request);
                status = resp.status();
                responseHeaders = resp.headers();
                responseBody = resp.body();
                error = new String(responseBody, 0, Math.min(responseBody.length, 4 * TriggerRecords.MAX_ERROR_BYTES), StandardCharsets.UTF_8);
            } catch (InvocationException e) {
                status = e.status();
                error = e.error() + ": " + e.getMessage();
            } catch (RuntimeException e) {
                LOG.errorf(e, "trigger %s/%s at %s", function, trigger.name(), what);
                status = 500;
                error = "internal_error: " + e;
            }
            RetryPolicy.Verdict verdict = policy.verdict(status, attempt, trigger.retry()::retries);
            switch (verdict) {
                case SUCCEEDED -> {
                    try {
                        return new Attempts(Kind.SUCCEEDED, status, responseHeaders, responseBody, reader.read(responseBody), null, attempt);
                    } catch (IllegalArgumentException e) {
                        // The same response would come again: a broken contract is not retried.
                        return new Attempts(Kind.DEAD_LETTERED, status, responseHeaders, responseBody, null, "bad_batch_response: " + e.getMessage(),
                                attempt);
                    }
                }
                case RETRY -> {
                    metrics.retried(function, trigger.name());
                    Duration wait = policy.backoff(attempt, ThreadLocalRandom.current()::nextDouble);
                    LOG.debugf("trigger %s/%s at %s, attempt %d: %d; again in %d ms", function, trigger.name(), what, attempt, status,
                            wait.toMillis());
                    if (!sleep(wait, abandoned)) return new Attempts(Kind.ABANDONED, status, List.of(), null, null, null, attempt);
                }
                default -> { // FAILED (not retried) or DEAD (retries used up)
                    return new Attempts(Kind.DEAD_LETTERED, status, responseHeaders, responseBody, null, error, attempt);
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
