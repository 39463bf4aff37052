package dev.skiff.server.async;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;
import java.time.Duration;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

/**
 * Starts and stops this process's {@link WorkerLoop} (skiff.async.worker-enabled). Gauges:
 * {@code skiff_async_in_flight} (records taken and not yet done, waiting retries included) and
 * {@code skiff_async_running} (calls running in a function now).
 */
@ApplicationScoped
public class AsyncWorker {
    private static final Logger LOG = Logger.getLogger(AsyncWorker.class);

    @Inject
    AsyncConfig config;

    @Inject
    dev.skiff.invoker.SkiffConfig skiff;

    @Inject
    AsyncClients clients;

    @Inject
    CallRunner runner;

    @Inject
    MeterRegistry registry;

    private WorkerLoop loop;
    private Thread thread;

    void onStart(@Observes StartupEvent ignored) {
        Gauge.builder("skiff_async_in_flight", this, w -> w.inFlight()).description("Async call records this worker holds").register(registry);
        Gauge.builder("skiff_async_running", runner, CallRunner::running).description("Async calls running in a function").register(registry);
        if (config.workerEnabled() && skiff.role().gateway()) start(); // gateways run async calls, invoker-only nodes do not
        else LOG.info("async worker off (skiff.async.worker-enabled=false): this gateway accepts async calls, others run them");
    }

    // Before the producer closes (default priority), so that running calls can still record their outcome.
    void onStop(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) ShutdownEvent ignored) {
        stop(Duration.ofSeconds(5));
    }

    synchronized int inFlight() {
        return loop == null ? 0 : loop.inFlight();
    }

    /** Joins the group and starts taking calls (a no-op when running). Public for tests that restart the worker. */
    public synchronized void start() {
        if (loop != null) return;
        loop = new WorkerLoop(new KafkaConsumer<>(clients.workerConsumer(), new StringDeserializer(), new ByteArrayDeserializer()), runner,
                config.maxInFlight());
        thread = Thread.ofPlatform().daemon().name("async-worker").start(loop);
    }

    /**
     * Leaves the group. Calls still running after {@code drain} are left to whoever takes their
     * partitions next (this process too, after start()): they run again, nothing is lost.
     */
    public synchronized void stop(Duration drain) {
        if (loop == null) return;
        loop.halt(drain);
        try {
            thread.join(drain.toMillis() + 15_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        loop = null;
        thread = null;
    }
}
