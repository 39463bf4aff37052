package dev.skiff.server.scale;

import dev.skiff.autoscaler.Autoscaler;
import dev.skiff.autoscaler.Backlog;
import dev.skiff.autoscaler.Decision;
import dev.skiff.autoscaler.LoadSample;
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
import java.util.List;
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
 * and publishes one decision per function on fn.scale (key = function name), through the
 * service-level {@link DecisionGuards} (wait for samples; a deploy or restart keeps the last
 * replica; spread over the reporting invokers). Gauges
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

    @Inject
    dev.skiff.server.cluster.InvokerRegistry invokers;

    private boolean enabled;

    private final Autoscaler autoscaler = new Autoscaler();
    private final Map<String, Decision> latest = new ConcurrentHashMap<>();
    private final DecisionGuards guards = new DecisionGuards(Instant.now());
    private final BacklogSignal backlogs = new BacklogSignal();
    private final Set<String> gauged = ConcurrentHashMap.newKeySet();
    private volatile boolean paused;
    private ScheduledExecutorService timer;

    void start(@Observes StartupEvent ignored) {
        enabled = config.autoscalerEnabled() && config.role().gateway(); // the autoscaler runs beside gateways, not on invoker-only nodes
        if (!enabled) {
            LOG.info("autoscaler role off (skiff.autoscaler.enabled=false)");
            return;
        }
        guards.restart(Instant.now());
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
        backlogs.clear();
    }

    public void resume() {
        guards.restart(Instant.now());
        paused = false;
    }

    @Incoming("fn-metrics-in")
    public void onSample(String payload) {
        if (!enabled || paused) return;
        try {
            Object metric = ScaleMessages.parseMetric(payload);
            if (metric instanceof Backlog b) {
                backlogs.observed(b);
                return;
            }
            LoadSample sample = (LoadSample) metric;
            Optional<String> skipped = autoscaler.observe(sample);
            if (skipped.isEmpty()) guards.observed(sample);
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
            Instant now = Instant.now();
            syncFunctions(now);
            for (var e : autoscaler.decideAll(now, Map.of()).entrySet()) {
                String function = e.getKey();
                var config = store.get(function).map(s -> s.deployment().config()).orElse(null);
                if (config == null) continue;
                List<Backlog> waiting = backlogs.fresh(function, now, config.scaling().sampleMaxAge());
                // Backlogs are keyed by function on fn.metrics like samples: the same autoscaler gets both.
                if (!guards.reported(function, now) && waiting.isEmpty()) continue;
                Decision d = guards.adjust(function, e.getValue(), now);
                d = Backlog.atLeast(d, Backlog.replicasFor(waiting, config.concurrency(), config.maxScale()),
                        waiting.stream().mapToLong(Backlog::lag).sum());
                Decision before = latest.put(function, d);
                gauges(function);
                if (before == null || before.desiredReplicas() != d.desiredReplicas() || before.panicking() != d.panicking()) {
                    LOG.infof("%s: %d replicas wanted%s (%s)", function, d.desiredReplicas(), d.panicking() ? ", panicking" : "", d.reason());
                }
                decisions.send(KafkaRecord.of(function, ScaleMessages.decision(function, d, now,
                        ReplicaSpread.targets(d.desiredReplicas(), guards.replicasByInvoker(function, now), room(function)))));
            }
        } catch (RuntimeException e) {
            // The timer must survive anything (a broker that is down included): next second, again.
            LOG.debugf("autoscaler tick: %s", e.toString());
        }
    }

    /** The deployed functions are the scaled ones; their func.yaml scale: section is their config. */
    private void syncFunctions(Instant now) {
        Set<String> deployed = new HashSet<>();
        for (FunctionStore.Stored s : store.list()) {
            var config = s.deployment().config();
            deployed.add(config.name());
            autoscaler.configure(config.name(), config.scaling());
            guards.deployed(config.name(), config.scaling(), s.deployedAt(), now);
        }
        for (String f : autoscaler.functions()) {
            if (!deployed.contains(f)) {
                autoscaler.forget(f);
                latest.remove(f);
                guards.forget(f);
                backlogs.forget(f);
            }
        }
    }

    /** How many more replicas of the function fit on each invoker that announced itself (memory left / the function's limit). */
    private Map<String, Integer> room(String function) {
        Map<String, Integer> room = new java.util.HashMap<>();
        long memory = store.get(function).map(s -> s.deployment().config().memoryBytes()).orElse(0L);
        if (memory <= 0) return room;
        for (var a : invokers.live(null)) room.put(a.invoker(), (int) Math.max(0, Math.min(Integer.MAX_VALUE, a.memoryFree() / memory)));
        return room;
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
