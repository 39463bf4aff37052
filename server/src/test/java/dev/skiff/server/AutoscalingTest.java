package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The acceptance test of autoscaling: real sandboxes, a real broker, samples and decisions over
 * Kafka. A function with target concurrency 5 under load stepping from 1 to 50 clients gets at
 * least 10 replicas without a failed call, and goes back to zero after its grace period.
 */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class AutoscalingTest {
    // Short windows so that the test takes seconds, not minutes.
    static final Duration STABLE_WINDOW = Duration.ofSeconds(6);
    static final Duration GRACE = Duration.ofSeconds(2);

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void loadSteppingFromOneToFiftyClientsScalesOutWithoutFailuresAndBackToZero() throws Exception {
        given().contentType("application/gzip").body(Functions.pack("autoscaled", """
                concurrency: 5
                maxScale: 20
                scale:
                  stableWindow: %ds
                  panicWindow: 2s
                  scaleToZeroGrace: %ds
                """.formatted(STABLE_WINDOW.toSeconds(), GRACE.toSeconds()), """
                import time
                def handle(event, context):
                    time.sleep(0.2)
                    return "ok"
                """)).when().put("/v1/functions/autoscaled").then().statusCode(201).body("ready", equalTo(true));

        Load load = new Load("autoscaled");
        MetricsWatch watch = new MetricsWatch("autoscaled");
        try {
            load.clients(1);
            Thread.sleep(3000);
            load.clients(50);
            Thread.sleep(8000);
        } finally {
            load.stop();
        }
        long loadStopped = System.nanoTime();
        assertTrue(load.ok.get() > 200, "the load ran: " + load);
        assertEquals(0, load.failed.get(), "failed calls: " + load + "; first failures: " + load.failures);
        assertTrue(watch.maxReplicas() >= 10, "replicas reached " + watch.maxReplicas() + " (>= 10 wanted); " + watch);
        assertTrue(watch.maxDesired() >= 10, "the autoscaler asked for " + watch.maxDesired() + "; " + watch);

        // Back to zero once nothing ran for the stable window plus the grace (and a margin for the
        // panic to end and the halving scale-down steps).
        long deadline = loadStopped + STABLE_WINDOW.plus(GRACE).plusSeconds(20).toNanos();
        while (watch.replicas() > 0 || watch.desired() > 0) {
            if (System.nanoTime() > deadline) fail("still " + watch.replicas() + " replicas (desired " + watch.desired() + ") " + watch);
            Thread.sleep(250);
        }
        watch.stop();
        assertTrue(watch.seenBoth(), "desired and actual replicas were in /q/metrics throughout: " + watch);
    }

    /** Closed-loop clients: each sends the next call when the previous answered. */
    static final class Load {
        final String function;
        final AtomicInteger ok = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        // Platform threads, one per client: the common pool has one thread on 2 cores.
        final ExecutorService clients = Executors.newFixedThreadPool(50);
        final AtomicBoolean running = new AtomicBoolean(true);
        final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).executor(Executors.newFixedThreadPool(4)).build();
        int started;

        Load(String function) {
            this.function = function;
        }

        void clients(int total) {
            for (; started < total; started++) clients.submit(this::loop);
        }

        private void loop() {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + RestAssured.port + "/fn/" + function))
                    .timeout(Duration.ofSeconds(30)).GET().build();
            while (running.get()) {
                try {
                    HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200) {
                        ok.incrementAndGet();
                    } else {
                        failed.incrementAndGet();
                        if (failures.size() < 5) failures.add(r.statusCode() + " " + r.body());
                    }
                } catch (Exception e) {
                    failed.incrementAndGet();
                    if (failures.size() < 5) failures.add(e.toString());
                }
            }
        }

        void stop() throws InterruptedException {
            running.set(false);
            clients.shutdown();
            assertTrue(clients.awaitTermination(40, TimeUnit.SECONDS), "the clients finished");
        }

        @Override
        public String toString() {
            return ok.get() + " ok, " + failed.get() + " failed";
        }
    }

    /** Reads skiff_replicas and skiff_desired_replicas from /q/metrics every 250 ms. */
    static final class MetricsWatch {
        private final String function;
        private final AtomicLong replicas = new AtomicLong(-1);
        private final AtomicLong desired = new AtomicLong(-1);
        private final AtomicLong maxReplicas = new AtomicLong();
        private final AtomicLong maxDesired = new AtomicLong();
        private final AtomicInteger reads = new AtomicInteger();
        private final AtomicInteger readsWithBoth = new AtomicInteger();
        private final List<String> timeline = java.util.Collections.synchronizedList(new ArrayList<>());
        private final java.util.concurrent.ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        private final long t0 = System.nanoTime();

        MetricsWatch(String function) {
            this.function = function;
            timer.scheduleWithFixedDelay(this::read, 0, 250, TimeUnit.MILLISECONDS);
        }

        private void read() {
            try {
                String m = Metrics.page();
                long r = gauge(m, "skiff_replicas");
                long d = gauge(m, "skiff_desired_replicas");
                reads.incrementAndGet();
                if (r >= 0 && d >= 0) readsWithBoth.incrementAndGet();
                replicas.set(r);
                desired.set(d);
                maxReplicas.accumulateAndGet(r, Math::max);
                maxDesired.accumulateAndGet(d, Math::max);
                String entry = String.format("%.1fs r=%d d=%d", (System.nanoTime() - t0) / 1e9, r, d);
                if (timeline.isEmpty() || !timeline.get(timeline.size() - 1).endsWith(entry.substring(entry.indexOf(' '))))
                    timeline.add(entry);
            } catch (Exception | AssertionError e) {
                timeline.add("metrics: " + e);
            }
        }

        private long gauge(String metrics, String name) {
            Matcher m = Pattern.compile("(?m)^" + name + "\\{function=\"" + function + "\"} ([0-9.E]+)$").matcher(metrics);
            return m.find() ? (long) Double.parseDouble(m.group(1)) : -1;
        }

        long replicas() {
            return replicas.get();
        }

        long desired() {
            return desired.get();
        }

        long maxReplicas() {
            return maxReplicas.get();
        }

        long maxDesired() {
            return maxDesired.get();
        }

        /** Both gauges in every read after the first decision. */
        boolean seenBoth() {
            return readsWithBoth.get() >= reads.get() - 8;
        }

        void stop() {
            timer.shutdownNow();
        }

        @Override
        public String toString() {
            return "timeline " + timeline;
        }
    }

}
