package dev.skiff.server.scale;

import io.quarkus.logging.LoggingFilter;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Filter;
import java.util.logging.LogRecord;

/**
 * While the broker is down, SmallRye's Kafka sink logs two errors with a stack trace for every
 * sample and decision it could not write (one a second each): the real news, "cannot write to
 * Kafka", is shown at most once every {@link #EVERY_SECONDS} s; the rest is dropped. Samples are
 * dropped anyway while the broker is down.
 */
@LoggingFilter(name = "kafka-write-failures")
public final class KafkaWriteFailureLogFilter implements Filter {
    static final long EVERY_SECONDS = 30;
    /** SRMSG18206 "Unable to write to Kafka", SRMSG18212 "was not sent ... nacking message". */
    private static final String[] IDS = {"SRMSG18206", "SRMSG18212"};
    private final AtomicLong nextShownNanos = new AtomicLong(Long.MIN_VALUE);

    @Override
    public boolean isLoggable(LogRecord record) {
        String message = record.getMessage();
        if (message == null || !mentionsWriteFailure(message)) return true;
        long now = System.nanoTime();
        long next = nextShownNanos.get();
        if (next != Long.MIN_VALUE && now - next < 0) return false;
        return nextShownNanos.compareAndSet(next, now + TimeUnit.SECONDS.toNanos(EVERY_SECONDS));
    }

    private static boolean mentionsWriteFailure(String message) {
        for (String id : IDS) if (message.startsWith(id)) return true;
        return false;
    }
}
