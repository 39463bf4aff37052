package dev.skiff.server.async;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;

/** The three async topics and how Skiff creates them (KafkaTopics creates them at start). */
public final class AsyncTopics {
    /** Accepted calls and their retries, keyed by call id. */
    public static final String CALLS = "fn.async";
    /** Where calls end, keyed by call id: only the newest record of a call matters (compacted), and only for a while. */
    public static final String RESULTS = "fn.async.results";
    /** Calls that used up their attempts (or could not be read), with the reason in headers. */
    public static final String DEAD_LETTERS = "fn.async.dlq";

    /** Room beyond the body for the call's headers and metadata in one record. */
    static final int RECORD_OVERHEAD = 1 << 20;

    private AsyncTopics() {}

    /** The largest fn.async record: the largest request body skiff.max-body-bytes lets in, plus its headers. */
    static int maxCallRecordBytes(long maxBodyBytes) {
        return (int) Math.min(Integer.MAX_VALUE - RECORD_OVERHEAD, maxBodyBytes) + RECORD_OVERHEAD;
    }

    /** The largest result: the kept body as JSON text (escapes take up to 6 bytes a byte) plus the rest. */
    static int maxResultRecordBytes(int maxResultBodyBytes) {
        return (int) Math.min(Integer.MAX_VALUE - RECORD_OVERHEAD, 6L * maxResultBodyBytes) + RECORD_OVERHEAD;
    }

    public static List<NewTopic> topics(AsyncConfig config, long maxBodyBytes) {
        String callBytes = Integer.toString(maxCallRecordBytes(maxBodyBytes));
        // Calls are kept a week, like Kafka's default: a queue that nobody works on for days
        // (every gateway down) still holds its calls when one comes back.
        NewTopic calls = new NewTopic(CALLS, config.partitions(), (short) 1).configs(Map.of(
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, callBytes,
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(Duration.ofDays(7).toMillis())));
        long retention = config.resultRetention().toMillis();
        NewTopic results = new NewTopic(RESULTS, config.partitions(), (short) 1).configs(Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT + "," + TopicConfig.CLEANUP_POLICY_DELETE,
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(retention),
                TopicConfig.SEGMENT_MS_CONFIG, Long.toString(Math.max(60_000, retention / 4)),
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxResultRecordBytes(config.maxResultBodyBytes()))));
        NewTopic dlq = new NewTopic(DEAD_LETTERS, 1, (short) 1).configs(Map.of(
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, callBytes,
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(Duration.ofDays(14).toMillis())));
        return List.of(calls, results, dlq);
    }
}
