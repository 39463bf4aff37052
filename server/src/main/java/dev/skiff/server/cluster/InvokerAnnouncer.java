package dev.skiff.server.cluster;

import dev.skiff.invoker.LocalInvoker;
import dev.skiff.invoker.SkiffConfig;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The invoker role tells the gateways every second, on {@code fn.invokers}, where it is and the
 * load of each function it holds; gateways route by it and drop an invoker they have not heard
 * from for {@code skiff.invoker-timeout}. On a clean shutdown it says it is leaving, so gateways
 * stop sending at once rather than after the timeout.
 */
@ApplicationScoped
public class InvokerAnnouncer {
    private static final Logger LOG = Logger.getLogger(InvokerAnnouncer.class);
    static final long EVERY_MS = 1000;

    @Inject
    SkiffConfig config;

    @Inject
    LocalInvoker invoker;

    @Inject
    ClusterKey clusterKey;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;

    private KafkaProducer<String, byte[]> producer;
    private ScheduledExecutorService timer;
    private volatile String url;
    private volatile boolean warned;

    void start(@Observes StartupEvent ignored) {
        if (!config.role().invoker()) return;
        url = config.advertisedUrl().orElseGet(InvokerAnnouncer::defaultUrl);
        producer = KafkaClients.producer(bootstrap, "skiff-announcer-" + invoker.invokerId());
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("invoker-announcer").daemon().factory());
        timer.scheduleAtFixedRate(() -> announce(false), 0, EVERY_MS, TimeUnit.MILLISECONDS);
        LOG.infof("invoker %s announces itself as %s on %s", invoker.invokerId(), url, FunctionCatalog.INVOKERS_TOPIC);
    }

    void stop(@Observes ShutdownEvent ignored) {
        if (timer == null) return;
        timer.shutdownNow();
        announce(true);
        producer.close(java.time.Duration.ofSeconds(2));
    }

    /** This invoker's own id and URL, as the gateway in the same process sees it. */
    public String invokerId() {
        return invoker.invokerId();
    }

    private void announce(boolean leaving) {
        // Gateways would be refused until this node knows the cluster key: not in rotation before.
        if (!leaving && !clusterKey.known()) return;
        try {
            List<Announcement.Load> loads = invoker.loads().stream()
                    .map(l -> new Announcement.Load(l.function(), l.version(), l.replicas(), l.starting(), l.inFlight(), l.waiting(), l.slotsPerReplica()))
                    .toList();
            Announcement a = new Announcement(invoker.invokerId(), url, Instant.now(), leaving || !invoker.acceptsCalls(), loads, invoker.memoryFree());
            var sent = producer.send(new ProducerRecord<>(FunctionCatalog.INVOKERS_TOPIC, a.invoker(), a.toJson().getBytes(StandardCharsets.UTF_8)));
            if (leaving) sent.get(2, TimeUnit.SECONDS);
            warned = false;
        } catch (Exception e) {
            // The timer must survive anything; a missed announcement is made good a second later.
            if (!warned) LOG.warnf("could not announce this invoker (%s); retrying every second", e.toString());
            warned = true;
        }
    }

    /** http://HOST:PORT with this host's name and the HTTP port (the test port in tests). */
    static String defaultUrl() {
        var cfg = ConfigProvider.getConfig();
        String portKey = LaunchMode.current() == LaunchMode.TEST ? "quarkus.http.test-port" : "quarkus.http.port";
        int port = cfg.getOptionalValue(portKey, Integer.class).orElse(8080);
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "127.0.0.1";
        }
        return "http://" + host + ":" + port;
    }
}
