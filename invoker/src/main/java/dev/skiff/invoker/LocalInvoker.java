package dev.skiff.invoker;

import dev.skiff.invoker.http.HttpMessage;
import dev.skiff.invoker.http.UnixHttpConnection;
import dev.skiff.sandbox.Sandbox;
import dev.skiff.sandbox.SandboxException;
import dev.skiff.sandbox.SandboxRuntime;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * The invoker role: warm pools of sandboxes on this node. Not injectable as {@link Invoker}: the
 * gateway calls through the cluster-wide invoker, which uses this one when the process has the
 * invoker role.
 */
@ApplicationScoped
@jakarta.enterprise.inject.Typed(LocalInvoker.class)
public class LocalInvoker implements Invoker, ConcurrencySampler {
    private static final Logger LOG = Logger.getLogger(LocalInvoker.class);

    @Inject
    SkiffConfig config;

    @Inject
    MeterRegistry registry;

    @Inject
    FunctionImages images;

    /** This invoker in samples: host name and pid, so that a restarted invoker is a new one. */
    private final String nodeName = hostName() + "-" + ProcessHandle.current().pid();
    private final Map<String, Long> callsAtLastSample = new ConcurrentHashMap<>();

    private final Map<String, FunctionPool> pools = new ConcurrentHashMap<>();
    /** The active deployment per function (see {@link #activate}), to keep minScale replicas of it warm. */
    private final Map<String, FunctionDeployment> deployments = new ConcurrentHashMap<>();
    /** The latest decision applied per function (after minScale/maxScale), for describe. */
    private final Map<String, Integer> desired = new ConcurrentHashMap<>();
    private final FunctionLogs logs = new FunctionLogs(1000);
    private volatile boolean shuttingDown;
    private ScheduledExecutorService timers;
    private ReplicaLauncher launcher;

    void start(@Observes StartupEvent ignored) throws SandboxException, IOException {
        if (!config.role().invoker()) return; // a gateway-only process runs no sandboxes
        SandboxRuntime runtime = SandboxRuntime.open(config.stateDir().resolve("sandboxes"), config.cgroupName());
        launcher = new ReplicaLauncher(runtime, new Runtimes(config.dataDir()), images, config, logs);
        var scheduler = new java.util.concurrent.ScheduledThreadPoolExecutor(1, Thread.ofPlatform().name("invoker-timers").daemon().factory());
        // Each call cancels its watchdog; without this the cancelled timer would stay queued for
        // the whole timeout and wake the timer thread once per call, for nothing.
        scheduler.setRemoveOnCancelPolicy(true);
        timers = scheduler;
        long every = config.reapInterval().toMillis();
        timers.scheduleWithFixedDelay(this::reapIdle, every, every, TimeUnit.MILLISECONDS);
        LOG.infof("invoker ready: sandboxes under %s, cgroup %s", config.stateDir(), runtime.cgroupVersion());
    }

    /** Whether this invoker takes calls: its sandbox runtime is up and it is not shutting down (for readiness). */
    public boolean acceptsCalls() {
        return launcher != null && !shuttingDown;
    }

    void stop(@Observes ShutdownEvent ignored) {
        shuttingDown = true; // a scaling decision arriving now must not start replicas that nobody stops
        // In-flight calls may run to their timeout; all functions drain in parallel.
        List<Thread> draining = new java.util.ArrayList<>();
        for (FunctionPool p : pools.values()) draining.add(Thread.ofVirtual().start(() -> p.stopAll(config.shutdownDrain())));
        for (Thread t : draining) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (timers != null) timers.shutdownNow();
    }

    private void reapIdle() {
        long now = System.nanoTime();
        for (var entry : pools.entrySet()) {
            FunctionPool p = entry.getValue();
            try {
                p.reapIdle(now);
                FunctionDeployment d = deployments.get(entry.getKey());
                if (d != null && d.config().minScale() > 0) p.ensureMinimum(d);
            } catch (RuntimeException e) {
                LOG.warn("idle reaper", e);
            }
        }
    }

    private FunctionPool pool(String name) {
        return pools.computeIfAbsent(name, n -> {
            registerGauges(n);
            Timer coldStarts = Timer.builder("skiff_cold_start_duration").description("Time from no free replica to a ready one")
                    .tag("function", n).publishPercentileHistogram().register(registry);
            return new FunctionPool(n, launcher, config.stopGrace(), nanos -> coldStarts.record(nanos, TimeUnit.NANOSECONDS));
        });
    }

    /** Functions whose gauges exist; they read the current pool by name, so they survive redeploys and deletes. */
    private final java.util.Set<String> gauged = ConcurrentHashMap.newKeySet();

    private void registerGauges(String name) {
        if (!gauged.add(name)) return;
        Tags tags = Tags.of("function", name);
        Gauge.builder("skiff_replicas", () -> counts(name).replicas()).tags(tags).description("Warm replicas").register(registry);
        Gauge.builder("skiff_replicas_starting", () -> counts(name).starting()).tags(tags).description("Replicas being cold-started").register(registry);
        Gauge.builder("skiff_in_flight_calls", () -> counts(name).inFlight()).tags(tags).description("Calls running").register(registry);
        Gauge.builder("skiff_queue_depth", () -> counts(name).waiting()).tags(tags).description("Calls waiting for a slot").register(registry);
        Gauge.builder("skiff_memory_bytes", () -> stats(name).memoryBytes()).tags(tags).baseUnit("bytes")
                .description("Memory in use by the function's replicas").register(registry);
        Gauge.builder("skiff_cpu_seconds", () -> stats(name).cpuNanos() / 1e9).tags(tags)
                .description("CPU time used by the function's current replicas").register(registry);
    }

    private FunctionPool.Counts counts(String name) {
        FunctionPool p = pools.get(name);
        return p == null ? new FunctionPool.Counts(0, 0, 0, 0, 0) : p.counts();
    }

    private dev.skiff.sandbox.SandboxStats stats(String name) {
        FunctionPool p = pools.get(name);
        return p == null ? dev.skiff.sandbox.SandboxStats.NONE : p.stats();
    }

    /**
     * The call meters, built and registered once per function (and status): doing that on every
     * call was ~10% of a call thread's CPU. Never removed, as the registry keeps them anyway.
     */
    private final Map<String, io.micrometer.core.instrument.Counter> callCounters = new ConcurrentHashMap<>();
    private final Map<String, Timer> callTimers = new ConcurrentHashMap<>();

    private void recordCall(String name, int status, long startedNanos) {
        callCounters.computeIfAbsent(name + " " + status, k -> io.micrometer.core.instrument.Counter.builder("skiff_calls")
                .description("Calls by function and the status they answered with")
                .tags("function", name, "status", Integer.toString(status)).register(registry)).increment();
        callTimers.computeIfAbsent(name, k -> Timer.builder("skiff_call_duration").description("Call duration, cold starts included")
                .tag("function", name).publishPercentileHistogram().register(registry))
                .record(System.nanoTime() - startedNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public List<ConcurrencySample> sample(java.time.Instant now) {
        return sample(now, callsAtLastSample);
    }

    /**
     * A sampler with its own "calls since the previous sample" cursor, so that a second reader
     * (the Kafka publisher) and {@link #sample} do not take each other's calls away.
     */
    public ConcurrencySampler newSampler() {
        Map<String, Long> cursor = new ConcurrentHashMap<>();
        return now -> sample(now, cursor);
    }

    private List<ConcurrencySample> sample(java.time.Instant now, Map<String, Long> cursor) {
        List<ConcurrencySample> samples = new java.util.ArrayList<>();
        for (var e : pools.entrySet()) {
            FunctionPool.Counts c = e.getValue().counts();
            long before = cursor.getOrDefault(e.getKey(), 0L);
            cursor.put(e.getKey(), c.calls());
            // A deleted and redeployed function has a new pool whose count starts at 0 again.
            long calls = c.calls() >= before ? c.calls() - before : c.calls();
            samples.add(new ConcurrencySample(nodeName, e.getKey(), now, c.inFlight(), c.waiting(),
                    c.replicas() + c.starting(), calls));
        }
        return samples;
    }

    /** Who this invoker is in its samples. */
    public String invokerId() {
        return nodeName;
    }

    /**
     * Converges a function toward the autoscaler's desired replica count (see
     * {@link FunctionPool#scaleTo}); a function this invoker has not seen yet is left alone, as
     * its first call will start it. Returns the change asked for.
     */
    public int scaleTo(String name, int desired) {
        FunctionDeployment d = deployments.get(name);
        if (d == null || shuttingDown) return 0;
        this.desired.put(name, Math.max(d.config().minScale(), Math.min(d.config().maxScale(), desired)));
        return pool(name).scaleTo(d, desired, this::memoryFree);
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "invoker";
        }
    }

    @Override
    public StreamedResponse invokeStreaming(FunctionDeployment d, InvocationRequest request) throws InvocationException {
        return invokeStreaming(d, request, Integer.MAX_VALUE);
    }

    /**
     * A call that may start a replica only while this node runs fewer than {@code replicaLimit}
     * of the function: a gateway's share of the function's maxScale for this node, when other
     * invokers run replicas of it too (maxScale counts across the cluster).
     */
    public StreamedResponse invokeStreaming(FunctionDeployment d, InvocationRequest request, int replicaLimit) throws InvocationException {
        long started = System.nanoTime();
        remember(d);
        FunctionPool pool = pool(d.name());
        makeRoomFor(d, pool);
        Replica replica;
        try {
            replica = pool.acquire(d, config.queueTimeout(), d.config().maxQueue(), replicaLimit, this::memoryFree);
        } catch (InvocationException e) {
            recordCall(d.name(), e.status(), started);
            throw e;
        }
        AtomicBoolean timedOut = new AtomicBoolean();
        UnixHttpConnection connection = null;
        ScheduledFuture<?> watchdog = null;
        try {
            connection = replica.connection();
            UnixHttpConnection c = connection;
            watchdog = timers.schedule(() -> {
                timedOut.set(true);
                c.close();
            }, d.config().timeout().toMillis(), TimeUnit.MILLISECONDS);
            if (d.config().concurrency() == 1) replica.currentCallId = request.callId();
            StreamedResponse head = connection.exchangeStreaming(request,
                    List.of(new HttpMessage.Header("X-Call-Id", request.callId())));
            // The call ends when its body has been read (or dropped): only then do the slot and
            // the connection go back, and the watchdog stop.
            CallCompletion done = new CallCompletion(d, pool, replica, connection, watchdog, timedOut, head.status(), started);
            return new StreamedResponse(head.status(), head.headers(), head.contentLength(), done.wrap(head.body()));
        } catch (RequestBodyException e) {
            // The caller's body broke off or was too large: not the function's fault.
            if (connection != null) connection.close();
            finish(d, pool, replica, watchdog, true, e.status(), started);
            throw new InvocationException(e.status(), e.status() == 413 ? "body_too_large" : "bad_request_body", e.getMessage());
        } catch (IOException e) {
            if (connection != null) connection.close();
            InvocationException failure = failure(d, replica, timedOut.get(), e);
            finish(d, pool, replica, watchdog, false, failure.status(), started);
            throw failure;
        } catch (RuntimeException e) {
            if (connection != null) connection.close();
            finish(d, pool, replica, watchdog, false, 502, started);
            throw new InvocationException(502, "function_bad_response", "function " + d.name() + " sent a response Skiff cannot read: " + e.getMessage());
        }
    }

    private void finish(FunctionDeployment d, FunctionPool pool, Replica replica, ScheduledFuture<?> watchdog, boolean healthy,
            int status, long started) {
        replica.currentCallId = null;
        if (watchdog != null) watchdog.cancel(false);
        pool.release(replica, healthy);
        recordCall(d.name(), status, started);
    }

    /** Ends a streamed call exactly once: when its body reaches EOF, fails, or is closed early. */
    private final class CallCompletion {
        private final FunctionDeployment d;
        private final FunctionPool pool;
        private final Replica replica;
        private final UnixHttpConnection connection;
        private final ScheduledFuture<?> watchdog;
        private final AtomicBoolean timedOut;
        private final int status;
        private final long started;
        private final AtomicBoolean finished = new AtomicBoolean();

        CallCompletion(FunctionDeployment d, FunctionPool pool, Replica replica, UnixHttpConnection connection,
                ScheduledFuture<?> watchdog, AtomicBoolean timedOut, int status, long started) {
            this.d = d;
            this.pool = pool;
            this.replica = replica;
            this.connection = connection;
            this.watchdog = watchdog;
            this.timedOut = timedOut;
            this.status = status;
            this.started = started;
        }

        void complete(boolean bodyRead, boolean broken) {
            if (!finished.compareAndSet(false, true)) return;
            boolean healthy = !broken && !timedOut.get();
            if (healthy && bodyRead) replica.giveBack(connection);
            else connection.close();
            finish(d, pool, replica, watchdog, healthy, broken ? 502 : status, started);
        }

        InputStream wrap(InputStream body) {
            return new java.io.FilterInputStream(body) {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    try {
                        int n = super.read(b, off, len);
                        if (n < 0) {
                            super.close();
                            complete(true, false);
                        }
                        return n;
                    } catch (IOException e) {
                        complete(false, true);
                        throw timedOut.get()
                                ? new IOException("function " + d.name() + " did not finish its response within its timeout", e)
                                : e;
                    }
                }

                @Override
                public void close() throws IOException {
                    // Closed before the end: the reader gave up (the client went away).
                    super.close();
                    complete(false, false);
                }
            };
        }
    }

    /** Says what happened to a call whose function did not answer: timeout, crash, OOM. */
    private static InvocationException failure(FunctionDeployment d, Replica replica, boolean timedOut, IOException cause) {
        if (timedOut) {
            return new InvocationException(504, "function_timeout", "function " + d.name() + " did not answer within "
                    + d.config().timeout().toMillis() + " ms (its timeout); the replica was stopped");
        }
        Sandbox.Exit exit;
        try {
            exit = replica.sandbox.onExit().get(2, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            return new InvocationException(502, "function_connection_failed",
                    "the connection to function " + d.name() + " broke: " + cause.getMessage());
        } catch (Exception e) {
            return new InvocationException(502, "function_crashed", "function " + d.name() + " crashed");
        }
        ReplicaLauncher.waitForOutput(replica);
        if (exit.oomKilled()) {
            return new InvocationException(502, "function_out_of_memory", "function " + d.name()
                    + " ran out of memory (limit " + (d.config().memoryBytes() >> 20) + " MiB) and was killed");
        }
        return new InvocationException(502, "function_crashed", "function " + d.name() + " crashed: it "
                + exit.describe() + ReplicaLauncher.tail(replica));
    }

    @Override
    public void warmUp(FunctionDeployment d) throws InvocationException {
        remember(d);
        FunctionPool pool = pool(d.name());
        makeRoomFor(d, pool);
        Replica r = pool.acquire(d, config.queueTimeout(), d.config().maxQueue(), Integer.MAX_VALUE, this::memoryFree);
        pool.release(r, true);
        if (d.config().minScale() > 1) pool.ensureMinimum(d);
    }

    /**
     * A call or warm-up only fills in a function not seen yet (after a restart): which version is
     * active is the gateway's word alone ({@link #activate}), so a call that read the previous
     * version just before a deploy or rollback cannot switch the function back.
     */
    private void remember(FunctionDeployment d) {
        deployments.putIfAbsent(d.name(), d);
    }

    @Override
    public void activate(FunctionDeployment d) {
        deployments.put(d.name(), d);
    }

    /** Drains and stops the replicas of one version of a function: its number now names other code (see the function catalog). */
    public void retireVersion(String name, long version) {
        FunctionPool p = pools.get(name);
        if (p != null) p.retireVersion(version);
    }

    @Override
    public FunctionLogs logs() {
        return logs;
    }

    @Override
    public void retire(String name) {
        deployments.remove(name);
        desired.remove(name);
        FunctionPool p = pools.remove(name);
        if (p != null) p.stopAll(config.shutdownDrain());
    }

    @Override
    public int replicas(String name) {
        FunctionPool p = pools.get(name);
        return p == null ? 0 : p.counts().replicas();
    }

    @Override
    public ReplicaStatus status(String name) {
        FunctionPool p = pools.get(name);
        if (p == null) return new ReplicaStatus(0, 0, desired.get(name), 0);
        FunctionPool.Counts c = p.counts();
        return new ReplicaStatus(c.replicas(), c.starting(), desired.get(name), p.consecutiveFailures());
    }

    /**
     * One function's load on this invoker, for the announcements gateways route by.
     *
     * @param slotsPerReplica the function's concurrency: calls one replica takes at once
     */
    public record FunctionLoad(String function, long version, int replicas, int starting, int inFlight, int waiting, int slotsPerReplica) {}

    /** The load of every function this invoker has replicas or calls of. */
    public List<FunctionLoad> loads() {
        List<FunctionLoad> loads = new java.util.ArrayList<>();
        for (var e : pools.entrySet()) {
            FunctionDeployment d = deployments.get(e.getKey());
            if (d == null) continue;
            FunctionPool.Counts c = e.getValue().counts();
            loads.add(new FunctionLoad(e.getKey(), d.version(), c.replicas(), c.starting(), c.inFlight(), c.waiting(), d.config().concurrency()));
        }
        return loads;
    }

    /** A replica used more recently than this is not stopped for another function: calls in bursts would trade replicas back and forth. */
    public static final Duration EVICTABLE_AFTER = Duration.ofSeconds(5);

    /**
     * A call that needs a new replica when there is no memory left for one stops idle replicas of
     * other functions (idle for {@link #EVICTABLE_AFTER} at least, beyond their minScale), as
     * OpenWhisk's container pool evicts free containers: otherwise it would fail with no_room
     * while memory sits in replicas nobody calls until their idleTimeout. Done before the call takes its slot, outside
     * the pools' locks; a race with another call only means one of them finds no room after all.
     */
    private void makeRoomFor(FunctionDeployment d, FunctionPool pool) {
        long idleSinceBefore = System.nanoTime() - EVICTABLE_AFTER.toNanos();
        long needed = d.config().memoryBytes();
        long free = memoryFree();
        if (free >= needed || pool.hasFreeSlot() || pool.counts().starting() > 0) return;
        long reclaimable = 0;
        for (var e : pools.entrySet()) {
            FunctionDeployment other = deployments.get(e.getKey());
            if (other != null && !e.getKey().equals(d.name())) reclaimable += (long) e.getValue().evictableCount(idleSinceBefore) * other.config().memoryBytes();
        }
        if (free + reclaimable < needed) return; // stopping every idle replica would not make room: none is stopped in vain
        while (memoryFree() < needed) {
            // The least recently used replica that makes room alone, else the least recently used one.
            long shortfall = needed - memoryFree();
            String victim = null, alone = null;
            long oldest = Long.MAX_VALUE, oldestAlone = Long.MAX_VALUE;
            for (var e : pools.entrySet()) {
                FunctionDeployment other = deployments.get(e.getKey());
                if (other == null || e.getKey().equals(d.name())) continue;
                var since = e.getValue().oldestIdleSince(idleSinceBefore);
                if (since.isEmpty()) continue;
                if (since.getAsLong() < oldest) {
                    oldest = since.getAsLong();
                    victim = e.getKey();
                }
                if (other.config().memoryBytes() >= shortfall && since.getAsLong() < oldestAlone) {
                    oldestAlone = since.getAsLong();
                    alone = e.getKey();
                }
            }
            if (alone != null) victim = alone;
            FunctionPool p = victim == null ? null : pools.get(victim);
            if (p == null || !p.evictOldestIdle(idleSinceBefore)) return;
            LOG.infof("stopped an idle replica of %s to make room for %s (%d MiB)", victim, d.name(), needed >> 20);
        }
    }

    /**
     * Memory this invoker still offers new replicas: its budget (skiff.replica-memory, else 3/4 of
     * the host's memory) less the memory limits of the replicas running or starting (can be < 0).
     * A call starts a replica only while one more fits; gateways also place by it (announced).
     */
    private volatile long replicaMemoryBudget;

    public long memoryFree() {
        long budget = replicaMemoryBudget;
        if (budget == 0) {
            budget = config.replicaMemory().map(m -> m.asLongValue())
                    .orElseGet(() -> ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                            .getTotalMemorySize() / 4 * 3);
            replicaMemoryBudget = budget;
        }
        long used = 0;
        for (var e : pools.entrySet()) {
            FunctionDeployment d = deployments.get(e.getKey());
            if (d != null) used += (long) e.getValue().occupiedEstimate() * d.config().memoryBytes();
        }
        return budget - used;
    }

    /** Host PIDs of a function's sandboxes (their init processes). */
    public List<Long> sandboxPids(String name) {
        FunctionPool p = pools.get(name);
        return p == null ? List.of() : p.pids();
    }
}
