package dev.skiff.server.cluster;

import dev.skiff.gateway.EventLoopRelay;
import dev.skiff.gateway.InvocationRoutes;
import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.FunctionLogs;
import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.InvocationRequest;
import dev.skiff.invoker.Invoker;
import dev.skiff.invoker.LocalInvoker;
import dev.skiff.invoker.ReplicaStatus;
import dev.skiff.invoker.SkiffConfig;
import dev.skiff.invoker.StreamedResponse;
import io.vertx.core.http.HttpServerResponse;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * The invoker the gateway (and async calls) talk to: this process's own invoker when it has the
 * invoker role, and the invokers in other processes that announce themselves on fn.invokers.
 * Each call goes where {@link Placement} says; with no other invoker around, straight to the
 * local one (the one-machine case costs nothing extra).
 *
 * <p>A call that cannot connect to an invoker goes to the next one (nothing was sent). A call
 * that an invoker dropped mid-way (it died) is a 502, and is repeated elsewhere only when that is
 * safe: GET, HEAD, PUT, DELETE or OPTIONS with a body still in memory.
 *
 * <p>A call whose body is in memory and whose first choice is an invoker in another process is
 * sent from the gateway's event loop ({@link #relay}, {@link RemoteRelay}); only if that invoker
 * does not take it does the rest of the list run the blocking way, on a call thread.
 */
@ApplicationScoped
public class ClusterInvoker implements Invoker, EventLoopRelay {
    private static final Logger LOG = Logger.getLogger(ClusterInvoker.class);
    private static final Set<String> SAFE_TO_REPEAT = Set.of("GET", "HEAD", "PUT", "DELETE", "OPTIONS");
    private static final String LOCAL_URL = "local";

    @Inject
    SkiffConfig config;

    @Inject
    LocalInvoker local;

    @Inject
    InvokerRegistry registry;

    @Inject
    ClusterLogs logs;

    @Inject
    io.vertx.core.Vertx vertx;

    @Inject
    ClusterKey clusterKey;

    private final RemoteInvoker remote = new RemoteInvoker(() -> clusterKey.value());
    private volatile RemoteRelay relay;
    /** Calls in flight per function and remote invoker, sent by this gateway. */
    private final Map<String, Map<String, AtomicInteger>> sent = new ConcurrentHashMap<>();

    private boolean hasLocal() {
        return config.role().invoker();
    }

    private String localId() {
        return hasLocal() ? local.invokerId() : null;
    }

    @Override
    public StreamedResponse invokeStreaming(FunctionDeployment d, InvocationRequest call) throws InvocationException {
        return invokeStreaming(d, call, null, null);
    }

    /**
     * The first choice of invoker for a call whose body is in memory, when it is in another
     * process: relayed from the event loop. Anything else (this process's own invoker first, a
     * streamed body, HEAD) runs the blocking way.
     */
    @Override
    public boolean relay(FunctionDeployment d, InvocationRequest call, HttpServerResponse resp, boolean http1,
            Consumer<InvocationRoutes.CallTarget> blockingRest) {
        if (call.bodyStream() != null || call.method().equals("HEAD")) return false;
        List<Announcement> others = registry.live(localId());
        if (others.isEmpty()) return false;
        List<Announcement> all = withLocal(d.name(), others);
        List<Announcement> order = Placement.order(d.name(), d.config().memoryBytes(), d.config().maxScale(), all, sentSinceAnnouncement(d.name()));
        if (order.isEmpty() || order.get(0).url().equals(LOCAL_URL)) return false;
        Announcement first = order.get(0);
        int replicaLimit = Placement.replicaLimit(d.name(), d.config().maxScale(), all, first);
        AtomicInteger inFlight = inFlight(d.name(), first.invoker());
        inFlight.incrementAndGet();
        RemoteRelay.Outcome outcome = new RemoteRelay.Outcome() {
            @Override
            public void answered() {
                inFlight.decrementAndGet();
            }

            @Override
            public void notTaken(String message, boolean unreachable) {
                inFlight.decrementAndGet();
                if (unreachable) registry.unreachable(first.invoker());
                LOG.debugf("call %s: %s; trying the next invoker", call.callId(), message);
                InvocationException e = new InvocationException(503, "no_invoker", message, 1);
                blockingRest.accept((dd, cc) -> invokeStreaming(dd, cc, first.invoker(), e));
            }

            @Override
            public void failed(InvocationException e) {
                inFlight.decrementAndGet();
                if ("invoker_lost".equals(e.error()) && safeToRepeat(call)) {
                    LOG.infof("call %s: %s; repeating it on another invoker (%s is safe to repeat)", call.callId(), e.getMessage(), call.method());
                    blockingRest.accept((dd, cc) -> invokeStreaming(dd, cc, first.invoker(), e));
                } else {
                    InvocationRoutes.answerFailure(resp, call, d.name(), e, http1);
                }
            }
        };
        try {
            relay().relay(first.url(), d, call, replicaLimit, deadline(d), resp, outcome);
        } catch (RuntimeException e) {
            // Nothing was sent (e.g. a header the client refuses): the blocking client has its own rules.
            inFlight.decrementAndGet();
            LOG.debugf("call %s: not relayed from the event loop: %s", call.callId(), e);
            return false;
        }
        return true;
    }

    private RemoteRelay relay() {
        RemoteRelay r = relay;
        if (r == null) {
            synchronized (this) {
                if (relay == null) relay = new RemoteRelay(vertx, () -> clusterKey.value());
                r = relay;
            }
        }
        return r;
    }

    @PreDestroy
    void closeRelay() {
        RemoteRelay r = relay;
        if (r != null) r.close();
    }

    private AtomicInteger inFlight(String function, String invokerId) {
        return sent.computeIfAbsent(function, k -> new ConcurrentHashMap<>()).computeIfAbsent(invokerId, k -> new AtomicInteger());
    }

    /**
     * @param tried an invoker a relayed first attempt went to already (skipped here), or null
     * @param triedFailure why that attempt failed: the answer when no other invoker can take the call
     */
    private StreamedResponse invokeStreaming(FunctionDeployment d, InvocationRequest call, String tried, InvocationException triedFailure)
            throws InvocationException {
        List<Announcement> others = registry.live(localId());
        if (others.isEmpty()) {
            if (hasLocal()) return local.invokeStreaming(d, call);
            throw triedFailure != null ? triedFailure : noInvoker(d.name());
        }
        InvocationException last = triedFailure;
        List<Announcement> all = withLocal(d.name(), others);
        for (Announcement a : Placement.order(d.name(), d.config().memoryBytes(), d.config().maxScale(), all, sentSinceAnnouncement(d.name()))) {
            if (a.invoker().equals(tried)) continue;
            int replicaLimit = Placement.replicaLimit(d.name(), d.config().maxScale(), all, a);
            if (a.url().equals(LOCAL_URL)) {
                try {
                    return local.invokeStreaming(d, call, replicaLimit);
                } catch (InvocationException e) {
                    if (!InvocationRoutes.NO_ROOM.equals(e.error())) throw e;
                    last = e; // no memory left here for a first replica: another invoker may have some
                    continue;
                }
            }
            AtomicInteger inFlight = inFlight(d.name(), a.invoker());
            inFlight.incrementAndGet();
            boolean handedOver = false;
            try {
                StreamedResponse r = remote.invokeStreaming(a.url(), d, call, replicaLimit, deadline(d));
                handedOver = true;
                return new StreamedResponse(r.status(), r.headers(), r.contentLength(), countedUntilClosed(r.body(), inFlight));
            } catch (RemoteInvoker.NotReached e) {
                if (e.getCause() != null) registry.unreachable(a.invoker());
                LOG.debugf("call %s: %s; trying the next invoker", call.callId(), e.getMessage());
                last = new InvocationException(503, "no_invoker", e.getMessage(), 1);
            } catch (InvocationException e) {
                if (!"invoker_lost".equals(e.error())) throw e;
                // Not out of rotation for this: a dropped connection is also what a pooled
                // connection the invoker had closed looks like. A dead invoker refuses the next
                // connection, and that takes it out.
                if (!safeToRepeat(call)) throw e;
                LOG.infof("call %s: %s; repeating it on another invoker (%s is safe to repeat)", call.callId(), e.getMessage(), call.method());
                last = e;
            } finally {
                if (!handedOver) inFlight.decrementAndGet();
            }
        }
        throw last != null ? last : noInvoker(d.name());
    }

    /** The live invokers, this process's own among them (with its load of the function right now). */
    private List<Announcement> withLocal(String function, List<Announcement> others) {
        List<Announcement> all = new ArrayList<>(others);
        if (hasLocal()) {
            List<Announcement.Load> loads = new ArrayList<>();
            for (LocalInvoker.FunctionLoad l : local.loads()) {
                if (l.function().equals(function)) {
                    loads.add(new Announcement.Load(l.function(), l.version(), l.replicas(), l.starting(), l.inFlight(), l.waiting(), l.slotsPerReplica()));
                }
            }
            all.add(new Announcement(local.invokerId(), LOCAL_URL, Instant.now(), false, loads, local.memoryFree()));
        }
        return all;
    }

    private Map<String, Integer> sentSinceAnnouncement(String function) {
        Map<String, Integer> mine = new HashMap<>();
        Map<String, AtomicInteger> counts = sent.get(function);
        if (counts != null) counts.forEach((id, n) -> mine.put(id, n.get()));
        return mine;
    }

    /** How long a call may take on a remote invoker: the function's timeout, the wait for a slot there, and a margin. */
    private java.time.Duration deadline(FunctionDeployment d) {
        return d.config().timeout().plus(config.queueTimeout()).plusSeconds(5);
    }

    private static boolean safeToRepeat(InvocationRequest call) {
        return SAFE_TO_REPEAT.contains(call.method()) && call.bodyStream() == null;
    }

    private static InvocationException noInvoker(String name) {
        return new InvocationException(503, "no_invoker", "no invoker is available to run " + name + " (none has announced itself on fn.invokers lately)", 1);
    }

    /** The remote call counts as in flight until its body has been read or closed. */
    private static InputStream countedUntilClosed(InputStream body, AtomicInteger inFlight) {
        AtomicBoolean done = new AtomicBoolean();
        return new FilterInputStream(body) {
            @Override
            public int read() throws IOException {
                int b = super.read();
                if (b < 0) finish();
                return b;
            }

            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                int n = super.read(buf, off, len);
                if (n < 0) finish();
                return n;
            }

            @Override
            public void close() throws IOException {
                finish();
                super.close(); // RemoteInvoker reads on to the body's end, so the connection is kept
            }

            private void finish() {
                if (done.compareAndSet(false, true)) inFlight.decrementAndGet();
            }
        };
    }

    @Override
    public void warmUp(FunctionDeployment d) throws InvocationException {
        List<Announcement> others = registry.live(localId());
        if (others.isEmpty()) {
            if (hasLocal()) {
                local.warmUp(d);
                return;
            }
            throw noInvoker(d.name());
        }
        InvocationException last = null;
        for (Announcement a : Placement.order(d.name(), d.config().memoryBytes(), d.config().maxScale(), withLocal(d.name(), others), sentSinceAnnouncement(d.name()))) {
            if (a.url().equals(LOCAL_URL)) {
                local.warmUp(d);
                return;
            }
            try {
                remote.warmUp(a.url(), d);
                return;
            } catch (RemoteInvoker.NotReached e) {
                if (e.getCause() != null) registry.unreachable(a.invoker());
                last = new InvocationException(503, "no_invoker", e.getMessage(), 1);
            }
        }
        throw last != null ? last : noInvoker(d.name());
    }

    @Override
    public void activate(FunctionDeployment d) {
        // Other invokers learn the new version from the function catalog.
        if (hasLocal()) local.activate(d);
    }

    @Override
    public ReplicaStatus status(String name) {
        ReplicaStatus here = hasLocal() ? local.status(name) : ReplicaStatus.NONE;
        int warm = here.warm();
        int starting = here.starting();
        for (Announcement a : registry.live(localId())) {
            Announcement.Load l = a.load(name);
            if (l == null) continue;
            warm += l.replicas();
            starting += l.starting();
        }
        return new ReplicaStatus(warm, starting, here.desired(), here.failures());
    }

    @Override
    public void retire(String name) {
        // Other invokers retire it when the catalog says it was deleted.
        if (hasLocal()) local.retire(name);
        sent.remove(name);
        logs.view().forget(name);
    }

    @Override
    public FunctionLogs logs() {
        // A gateway shows every invoker's lines; an invoker-only node (no logs API of its own) its own.
        return config.role().gateway() ? logs.view() : local.logs();
    }

    @Override
    public int replicas(String name) {
        int n = hasLocal() ? local.replicas(name) : 0;
        for (Announcement a : registry.live(localId())) {
            Announcement.Load l = a.load(name);
            if (l != null) n += l.replicas();
        }
        return n;
    }
}
