package dev.skiff.server.scale;

import dev.skiff.invoker.ConcurrencySample;
import dev.skiff.invoker.ConcurrencySampler;
import dev.skiff.invoker.LocalInvoker;
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
 * The invoker's side of fn.metrics: four times a second, one sample per function this invoker
 * knows (key = function name). The autoscaler decides once a second from the newest sample of
 * each second: sampling every 250 ms means that sample is at most a quarter second old, so a
 * load step shows in the next decision (with one sample a second, half the steps waited a
 * second more). Runs on its own timer thread, never on the request path; when the broker is
 * down the samples are dropped (a newer one follows, and the autoscaler ignores old ones anyway).
 */
@ApplicationScoped
public class SamplePublisher {
    private static final Logger LOG = Logger.getLogger(SamplePublisher.class);
    private static final long EVERY_MS = 250;

    @Inject
    LocalInvoker invoker;

    @Inject
    @Channel("fn-metrics-out")
    @OnOverflow(value = OnOverflow.Strategy.DROP)
    Emitter<String> samples;

    private ConcurrencySampler sampler;
    private ScheduledExecutorService timer;
    private volatile boolean warnedOnce;

    void start(@Observes StartupEvent ignored) {
        sampler = invoker.newSampler();
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("sample-publisher").daemon().factory());
        timer.scheduleAtFixedRate(this::publish, EVERY_MS, EVERY_MS, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent ignored) {
        if (timer != null) timer.shutdownNow();
    }

    private void publish() {
        try {
            for (ConcurrencySample s : sampler.sample(Instant.now())) {
                samples.send(KafkaRecord.of(s.function(), ScaleMessages.sample(s)));
            }
            warnedOnce = false;
        } catch (RuntimeException e) {
            // The timer must survive anything: an exception would cancel it for good.
            if (!warnedOnce) LOG.warnf("could not publish load samples (%s); retrying every 250 ms", e.toString());
            warnedOnce = true;
        }
    }
}
