package dev.skiff.invoker;

import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * One entry of func.yaml's {@code triggers}: records of Kafka topics become POST calls of the
 * function. Validated and with defaults filled in by {@link TriggerConfigParser}; a record, so
 * that "did the trigger change?" is {@code equals} (the trigger manager restarts a consumer
 * only then).
 *
 * @param group          the consumer group (default skiff-trigger-FUNCTION-NAME)
 * @param startFrom      where a group without a committed offset starts
 * @param concurrency    records running at once in this trigger's consumer
 * @param resultTopic    null when the responses are not kept
 * @param lagThreshold   records waiting per replica the autoscaler adds for this trigger's backlog (KEDA's lagThreshold)
 * @param batchSize      records per call at most: 1, the record is the call's body; more, the
 *                       call's body is a JSON array of the records waiting (see the README)
 */
public record TriggerConfig(
        String name,
        List<String> topics,
        String group,
        StartFrom startFrom,
        Ordering ordering,
        int concurrency,
        String path,
        Retry retry,
        String deadLetterTopic,
        String resultTopic,
        boolean exactlyOnce,
        int lagThreshold,
        int batchSize) {

    /** A batch is one request body: 1,000 records is already a large one. */
    public static final int MAX_BATCH_SIZE = 1000;

    public enum StartFrom { LATEST, EARLIEST }

    /** PARTITION: one record at a time per partition; KEY: one at a time per key; NONE: any order. */
    public enum Ordering { PARTITION, KEY, NONE }

    /** The outcomes that {@code retry.on} may name; a timeout is the function's 504, told apart from other 5xx. */
    public enum RetryOn {
        SERVER_ERROR("5xx"), TOO_MANY("429"), TIMEOUT("timeout"), CLIENT_ERROR("4xx");

        public final String yaml;

        RetryOn(String yaml) {
            this.yaml = yaml;
        }

        /** The outcome class of an HTTP status (below 400 is none: a success). */
        public static RetryOn of(int status) {
            if (status == 504) return TIMEOUT;
            if (status == 429) return TOO_MANY;
            if (status >= 500) return SERVER_ERROR;
            if (status >= 400) return CLIENT_ERROR;
            return null;
        }
    }

    public record Retry(int maxAttempts, Duration backoff, Duration maxBackoff, Set<RetryOn> on) {
        public Retry {
            on = Set.copyOf(on);
        }

        public static final Retry DEFAULT = new Retry(5, Duration.ofSeconds(1), Duration.ofSeconds(60),
                Set.of(RetryOn.SERVER_ERROR, RetryOn.TOO_MANY, RetryOn.TIMEOUT));

        /** Whether an attempt that ended with {@code status} is tried again (while attempts are left). */
        public boolean retries(int status) {
            RetryOn kind = RetryOn.of(status);
            return kind != null && on.contains(kind);
        }
    }

    public TriggerConfig {
        topics = List.copyOf(topics);
    }
}
