package dev.skiff.server.trigger;

import dev.skiff.autoscaler.Backlog;
import dev.skiff.server.scale.ScaleMessages;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;
import org.jboss.logging.Logger;

/**
 * Every second, each trigger consumer on this node reports its backlog (records on its partitions
 * not yet done) on fn.metrics, keyed by function like the invokers' samples, so the autoscaler
 * that decides for the function gets it and scales the function up while records wait (see
 * {@link Backlog}). A missed report is made good a second later; a stale one ages out.
 */
@ApplicationScoped
public class BacklogPublisher {
    private static final Logger LOG = Logger.getLogger(BacklogPublisher.class);
    private static final long EVERY_MS = 1000;

    @Inject
    TriggerManager triggers;

    @Inject
    @Channel("fn-metrics-out")
    @OnOverflow(value = OnOverflow.Strategy.DROP)
    Emitter<String> metrics;

    private ScheduledExecutorService timer;
    private volatile boolean warned;

    void start(@Observes StartupEvent ignored) {
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("backlog-publisher").daemon().factory());
        timer.scheduleAtFixedRate(this::publish, EVERY_MS, EVERY_MS, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent ignored) {
        if (timer != null) timer.shutdownNow();
    }

    private void publish() {
        try {
            Instant now = Instant.now();
            for (TriggerManager.TriggerBacklog b : triggers.backlogs()) {
                Backlog report = new Backlog(triggers.nodeId() + "/" + b.trigger(), b.function(), now, Math.max(0, b.lag()),
                        b.lagThreshold(), b.concurrency());
                metrics.send(KafkaRecord.of(b.function(), ScaleMessages.backlog(report)));
            }
            warned = false;
        } catch (RuntimeException e) {
            // The timer must survive anything: an exception would cancel it for good.
            if (!warned) LOG.warnf("could not report trigger backlogs (%s); retrying every second", e.toString());
            warned = true;
        }
    }
}
