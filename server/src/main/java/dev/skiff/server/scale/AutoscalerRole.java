package dev.skiff.server.scale;

import dev.skiff.autoscaler.Autoscaler;
import dev.skiff.autoscaler.Decision;
import dev.skiff.autoscaler.LoadSample;
import dev.skiff.autoscaler.ScalingConfig;
import dev.skiff.gateway.FunctionStore;
import dev.skiff.invoker.SkiffConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;
import org.jboss.logging.Logger;

/**
 * The autoscaler role: the Kafka mechanism around the pure {@link Autoscaler}. It reads every
 * invoker's samples from fn.metrics, and every second decides for each deployed function (the
 * set is re-read from the {@link FunctionStore} each time, so deploys and deletes are picked up)
 * and publishes one decision per function on fn.scale (key = function name). Gauges
 * {@code skiff_desired_replicas} and {@code skiff_autoscaler_panic} show the latest decisions.
 */
@ApplicationScoped
public class AutoscalerRole {
    private static final Logger LOG = Logger.getLogger(AutoscalerRole.class);
    private static final long EVERY_MS = 1000;

    @Inject
    FunctionStore store;

    @Inject
    MeterRegistry registry;

    @Inject
    @Channel("fn-scale-out")
    @OnOverflow(value = OnOverflow.Strategy.DROP)
    Emitter<String> decisions;

    @Inject
    SkiffConfig config;

    private boolean enabled;

    private final Autoscaler autoscaler = new Autoscaler();
    private final Map<String, Decision> latest = new ConcurrentHashMap<>();
    /** Until when a function keeps its last replica after a deploy or this role's (re)start. */
    private final Map<String, Instant> keepOneUntil = new ConcurrentHashMap<>();
    /** Replicas each invoker reported last, per function: whether there is a replica to keep. */
    private final Map<String, Map<String, LoadSample>> lastSamples = new ConcurrentHashMap<>();
    private volatile Instant startedAt = Instant.now();
    /** When this role first saw each function (since its start): decisions wait for its samples. */
    private final Map<String, Instant> firstSeen = new ConcurrentHashMap<>();
    /** Each function's scale.sampleMaxAge: how long an invoker's latest sample counts. */
    private final Map<String, java.time.Duration> sampleMaxAge = new ConcurrentHashMap<>();
    private final Set<String> gauged = ConcurrentHashMap.newKeySet();
    private volatile boolean paused;
    private ScheduledExecutorService timer;

    void start(@Observes StartupEvent ignored) {
        enabled = config.autoscalerEnabled();
        if (!enabled) {
            LOG.info("autoscaler role off (skiff.autoscaler.enabled=false)");
            return;
        }
        startedAt = Instant.now();
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("autoscaler").daemon().factory());
        timer.scheduleAtFixedRate(this::tick, EVERY_MS, EVERY_MS, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent ignored) {
        if (timer != null) timer.shutdownNow();
    }

    /** Stops deciding and forgets every sample, as if the role were down; {@link #resume()} starts from fresh samples. */
    public void pause() {
        paused = true;
        for (String f : autoscaler.functions()) autoscaler.forget(f);
        latest.clear();
        lastSamples.clear();
        firstSeen.clear();
    }

    public void resume() {
        startedAt = Instant.now();
        paused = false;
    }

    @Incoming("fn-metrics-in")
    public void onSample(String payload) {
        if (!enabled || paused) return;
        try {
            LoadSample sample = ScaleMessages.parseSample(payload);
            Optional<String> skipped = autoscaler.observe(sample);
            if (skipped.isEmpty()) lastSamples.computeIfAbsent(sample.function(), f -> new ConcurrentHashMap<>()).put(sample.invoker(), sample);
            // A function deleted or not yet seen by this role: normal for a second or so, not worth a warning.
            skipped.ifPresent(reason -> LOG.debugf("skipping a sample: %s", reason));
        } catch (ScaleMessages.MalformedMessage e) {
            LOG.warnf("skipping a message on fn.metrics: %s", e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("skipping a sample that could not be used", e);
        }
    }

    private void tick() {
        if (paused) return;
        try {
            syncFunctions();
            Instant now = Instant.now();
            for (var e : autoscaler.decideAll(now, Map.of()).entrySet()) {
                String function = e.getKey();
                if (waitingForSamples(function, now)) continue;
                Decision d = keepTheLastReplica(function, e.getValue(), now);
                Decision before = latest.put(function, d);
                gauges(function);
                if (before == null || before.desiredReplicas() != d.desiredReplicas() || before.panicking() != d.panicking()) {
                    LOG.infof("%s: %d replicas wanted%s (%s)", function, d.desiredReplicas(), d.panicking() ? ", panicking" : "", d.reason());
                }
                decisions.send(KafkaRecord.of(function, ScaleMessages.decision(function, d, now, reportingInvokers(function, now))));
            }
        } catch (RuntimeException e) {
            // The timer must survive anything (a broker that is down included): next second, again.
            LOG.debugf("autoscaler tick: %s", e.toString());
        }
    }

    /** The deployed functions are the scaled ones; their func.yaml scale: section is their config. */
    private void syncFunctions() {
        Set<String> deployed = new HashSet<>();
        for (FunctionStore.Stored s : store.list()) {
            var config = s.deployment().config();
            deployed.add(config.name());
            autoscaler.configure(config.name(), config.scaling());
            firstSeen.putIfAbsent(config.name(), Instant.now());
            sampleMaxAge.put(config.name(), config.scaling().sampleMaxAge());
            Instant since = s.deployedAt().isAfter(startedAt) ? s.deployedAt() : startedAt;
            keepOneUntil.put(config.name(), since.plus(config.scaling().stableWindow()).plus(config.scaling().scaleToZeroGrace()));
        }
        for (String f : autoscaler.functions()) {
            if (!deployed.contains(f)) {
                autoscaler.forget(f);
                latest.remove(f);
                keepOneUntil.remove(f);
                lastSamples.remove(f);
                firstSeen.remove(f);
                sampleMaxAge.remove(f);
            }
        }
    }

    /**
     * A deploy, and this role's own (re)start, count as a call: a replica that exists then stays
     * as long as one would after a call (stableWindow + scaleToZeroGrace). Without this the first
     * decisions, made without a sample that ever showed traffic, would stop the replica a deploy
     * just waited for, or every idle replica at once when the autoscaler comes back. It never
     * starts one: with no replica reported, zero stays zero.
     */
    private Decision keepTheLastReplica(String function, Decision d, Instant now) {
        Instant until = keepOneUntil.get(function);
        if (d.desiredReplicas() > 0 || until == null || !now.isBefore(until) || reportedReplicas(function, now) == 0) return d;
        return new Decision(1, d.panicking(), d.stableConcurrency(), d.panicConcurrency(), d.currentConcurrency(),
                d.reason() + "; keeps 1 after a deploy or an autoscaler restart");
    }

    /**
     * No decision for a function until its invokers had a chance to report it (a sample or
     * sampleMaxAge): a decision made from nothing would say zero. Without a decision the
     * invokers keep what they have.
     */
    private boolean waitingForSamples(String function, Instant now) {
        Instant seen = firstSeen.get(function);
        return !lastSamples.containsKey(function) && seen != null && now.isBefore(seen.plus(maxAge(function)));
    }

    /** Invokers whose latest sample of the function is fresh: the decision is spread over them. */
    private int reportingInvokers(String function, Instant now) {
        Map<String, LoadSample> byInvoker = lastSamples.get(function);
        if (byInvoker == null) return 1;
        Instant oldest = now.minus(maxAge(function));
        int count = (int) byInvoker.values().stream().filter(sample -> sample.at().isAfter(oldest)).count();
        return Math.max(1, count);
    }

    private java.time.Duration maxAge(String function) {
        return sampleMaxAge.getOrDefault(function, ScalingConfig.DEFAULT_SAMPLE_MAX_AGE);
    }

    private int reportedReplicas(String function, Instant now) {
        Map<String, LoadSample> byInvoker = lastSamples.get(function);
        if (byInvoker == null) return 0;
        Instant oldest = now.minus(maxAge(function));
        int replicas = 0;
        for (LoadSample sample : byInvoker.values()) if (sample.at().isAfter(oldest)) replicas += sample.replicas();
        return replicas;
    }

    private void gauges(String function) {
        if (!gauged.add(function)) return;
        Gauge.builder("skiff_desired_replicas", () -> {
            Decision d = latest.get(function);
            return d == null ? 0 : d.desiredReplicas();
        }).tag("function", function).description("Replicas the autoscaler wants").register(registry);
        Gauge.builder("skiff_autoscaler_panic", () -> {
            Decision d = latest.get(function);
            return d != null && d.panicking() ? 1 : 0;
        }).tag("function", function).description("1 while the autoscaler is in panic mode for the function").register(registry);
    }
}
