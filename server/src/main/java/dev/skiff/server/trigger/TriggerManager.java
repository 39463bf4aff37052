package dev.skiff.server.trigger;

import dev.skiff.gateway.FunctionChanged;
import dev.skiff.gateway.FunctionStore;
import dev.skiff.invoker.Invoker;
import dev.skiff.invoker.SkiffConfig;
import dev.skiff.invoker.TriggerConfig;
import dev.skiff.server.cluster.FunctionCatalog;
import io.micrometer.core.instrument.Gauge;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Runs one consumer loop per (function, trigger) on gateway-role nodes, where the async worker
 * runs too, calling functions through the injected {@link Invoker} (which routes to the
 * invokers). Reconciles what runs with what is deployed: at startup, on every
 * {@link FunctionChanged} of this node, and every few seconds, because a deploy on another
 * gateway reaches this node's store through the function catalog, which fires no event here.
 * A trigger whose config changed is restarted; one whose function or entry is gone is stopped
 * (it commits what is done and leaves its group). Each loop has its own thread and consumer,
 * so a failing or slow function never stalls another's triggers.
 */
@ApplicationScoped
public class TriggerManager {
    private static final Logger LOG = Logger.getLogger(TriggerManager.class);
    private static final Duration RESYNC = Duration.ofSeconds(3);
    private static final Duration DRAIN = Duration.ofSeconds(2);

    @Inject
    FunctionStore store;

    @Inject
    Invoker invoker;

    @Inject
    SkiffConfig skiff;

    @Inject
    TriggerClients clients;

    @Inject
    TriggerMetrics metrics;

    private record Key(String function, String trigger) {}

    private record Running(TriggerConfig config, TriggerLoop loop, Thread thread, Gauge lag) {}

    private final Map<Key, Running> running = new ConcurrentHashMap<>();
    private final Semaphore wake = new Semaphore(0);
    private volatile boolean stopping;
    private Thread reconciler;
    private String nodeId;

    void onStart(@Observes StartupEvent ignored) throws IOException {
        if (!skiff.role().gateway()) {
            LOG.info("Kafka triggers off: they run on gateway nodes");
            return;
        }
        nodeId = FunctionCatalog.nodeId(skiff.dataDir());
        reconciler = Thread.ofPlatform().daemon().name("trigger-manager").start(this::reconcileLoop);
    }

    // Before the other Kafka clients close, so that running records can still commit.
    void onStop(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) ShutdownEvent ignored) {
        stopping = true;
        if (reconciler != null) {
            reconciler.interrupt();
            try {
                reconciler.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // All at once, then wait: each drains in parallel, so shutdown takes one drain, not one per trigger.
        List<Running> all = List.copyOf(running.values());
        running.clear();
        for (Running r : all) r.loop().halt(DRAIN);
        for (Running r : all) join(r);
    }

    /** Deploy, rollback, delete: reconcile soon, off the management API's thread (it holds the deploy lock). */
    void changed(@Observes FunctionChanged change) {
        wake.release();
    }

    /** Records not yet read over all of a function's triggers on this node (0 when it has none here). */
    public long backlog(String function) {
        long sum = 0;
        for (var e : running.entrySet()) if (e.getKey().function().equals(function)) sum += e.getValue().loop().lag();
        return sum;
    }

    /** One trigger's backlog on this node, for whoever reports it to the autoscaler. */
    public record TriggerBacklog(String function, String trigger, long lag, int concurrency, int lagThreshold) {}

    /** Every trigger running on this node with its lag and how many records it runs at once. */
    public List<TriggerBacklog> backlogs() {
        if (nodeId == null) return List.of();
        return running.entrySet().stream()
                .map(e -> new TriggerBacklog(e.getKey().function(), e.getKey().trigger(), e.getValue().loop().lag(), e.getValue().config().concurrency(),
                        e.getValue().config().lagThreshold()))
                .toList();
    }

    /** This node's id (in the data directory), which names its trigger consumers' reports; null on invoker-only nodes. */
    public String nodeId() {
        return nodeId;
    }

    /** Whether a consumer runs for the trigger now (for tests and diagnostics). */
    public boolean isRunning(String function, String trigger) {
        return config(function, trigger).isPresent();
    }

    /** The config a trigger's running consumer was started with (for tests and diagnostics). */
    public Optional<TriggerConfig> config(String function, String trigger) {
        Running r = running.get(new Key(function, trigger));
        return r != null && r.thread().isAlive() ? Optional.of(r.config()) : Optional.empty();
    }

    private void reconcileLoop() {
        while (!stopping) {
            try {
                synchronized (this) {
                    reconcile();
                }
                if (wake.tryAcquire(RESYNC.toMillis(), TimeUnit.MILLISECONDS)) wake.drainPermits();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.errorf(e, "reconciling the Kafka triggers; again in %d s", RESYNC.toSeconds());
            }
        }
    }

    private void reconcile() {
        if (stopping) return;
        Map<Key, TriggerConfig> wanted = new HashMap<>();
        for (FunctionStore.Stored s : store.list()) {
            String fn = s.deployment().name();
            for (TriggerConfig t : s.deployment().config().triggers()) wanted.put(new Key(fn, t.name()), t);
        }
        for (var e : Map.copyOf(running).entrySet()) {
            TriggerConfig want = wanted.get(e.getKey());
            Running r = e.getValue();
            boolean ended = !r.thread().isAlive();
            if (want == null || !want.equals(r.config()) || ended) {
                if (!ended) LOG.infof("trigger %s/%s: %s", e.getKey().function(), e.getKey().trigger(), want == null ? "removed" : "changed");
                stop(e.getKey());
            }
        }
        for (var e : wanted.entrySet()) {
            if (!running.containsKey(e.getKey())) start(e.getKey(), e.getValue());
        }
    }

    private void start(Key k, TriggerConfig t) {
        TriggerCall call = new TriggerCall(k.function(), t, store, invoker, metrics);
        try {
            clients.ensureOutputTopics(t);
        } catch (Exception e) {
            // The broker away: the next reconcile tries again; no consumer runs without its dead-letter topic.
            LOG.warnf("trigger %s/%s waits: could not create its output topics (%s)", k.function(), k.trigger(),
                    e.getCause() != null ? e.getCause() : e);
            return;
        }
        TriggerLoop loop = t.exactlyOnce()
                ? new ExactlyOnceLoop(k.function(), t, clients.consumer(k.function(), t),
                        () -> clients.producer("skiff-trigger-eos-" + k.function() + "-" + t.name(), transactionalId(k)), call, metrics)
                : new AtLeastOnceLoop(k.function(), t, clients.consumer(k.function(), t),
                        clients.producer("skiff-trigger-" + k.function() + "-" + t.name(), null), call, metrics);
        Gauge lag = metrics.lagGauge(k.function(), t.name(), loop, TriggerLoop::lag);
        Thread thread = Thread.ofPlatform().daemon().name("trigger-" + k.function() + "-" + t.name()).start(loop);
        running.put(k, new Running(t, loop, thread, lag));
        LOG.infof("trigger %s/%s: consuming %s as group %s (%s ordering%s)", k.function(), t.name(), t.topics(), t.group(),
                t.ordering().name().toLowerCase(), t.exactlyOnce() ? ", exactly-once results" : "");
    }

    /**
     * Stable per trigger and node: a restarted node's new producer fences its old one (and aborts
     * the transaction it left open) instead of both writing.
     */
    private String transactionalId(Key k) {
        return "skiff-" + k.function() + "-" + k.trigger() + "-" + nodeId;
    }

    private void stop(Key k) {
        Running r = running.remove(k);
        if (r == null) return;
        r.loop().halt(DRAIN);
        join(r);
    }

    private void join(Running r) {
        try {
            r.thread().join(DRAIN.toMillis() + 15_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        metrics.remove(r.lag());
    }
}
