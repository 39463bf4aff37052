package dev.skiff.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.gateway.auth.Authorizer;
import dev.skiff.gateway.auth.TokenStore;
import dev.skiff.invoker.SkiffConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * API tokens shared by every gateway, so that a token made on one works on all of them:
 *
 * <pre>
 *   fn.tokens  compacted, one partition, key = token id:
 *              {"id","name","scope","createdAt","sha256"} (never the token itself)
 *              or a tombstone when it is revoked; header "origin" = the node that wrote it
 * </pre>
 *
 * The gateway that creates a token keeps it in its tokens.json (as a gateway alone does) and
 * publishes its record; the others keep it in memory only and rebuild it from the topic at every
 * start. Any gateway may revoke any token: it publishes the tombstone, and the creator then takes
 * the token out of its file. Tombstones stay a year ({@code delete.retention.ms}), so a gateway
 * that was down that long still learns of a revocation.
 *
 * <p>At start (and whenever it has to reconnect) a gateway first reads the topic to its end:
 * tombstones remove tokens, its own ones from its file too; other gateways' records are learned.
 * Only then does it publish what the topic lacks: its own tokens without a record (created while
 * the broker was away), and a tombstone for a record of its own it no longer has (revoked while
 * the broker was away, or tokens.json deleted). A revoked token is never published again.
 * Changes that could not be published are retried; the ids waiting are kept in
 * {@value #UNPUBLISHED_FILE} beside tokens.json, so a revocation of another gateway's token made
 * while the broker was away survives a restart.
 */
@ApplicationScoped
public class TokenCatalog {
    private static final Logger LOG = Logger.getLogger(TokenCatalog.class);
    public static final String TOPIC = "fn.tokens";
    static final String UNPUBLISHED_FILE = "tokens-unpublished.json";
    private static final String ORIGIN = "origin";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long RETRY_MS = 3000;

    @Inject
    SkiffConfig config;

    @Inject
    Authorizer authorizer;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;

    // Package-private for TokenCatalogTest, which settles a topic's content without a broker.
    String nodeId;
    TokenStore store;
    Path unpublishedFile;
    private KafkaProducer<String, byte[]> producer;
    private volatile boolean stopping;
    /** Set once the topic was read to its end (after each reconnect): only then is anything published. */
    private volatile boolean synced;
    private volatile KafkaConsumer<String, byte[]> following;
    private Thread publisher;
    private final Semaphore wake = new Semaphore(0);
    /** Token ids whose current state (a record, or a tombstone if this node no longer has it) is not on the topic yet. */
    final Set<String> unpublished = ConcurrentHashMap.newKeySet();

    /** The latest record of a token on the topic: who wrote it, and its value (null: a tombstone). */
    record Latest(String origin, byte[] value) {}

    void start(@Observes StartupEvent ignored) throws IOException {
        if (!config.role().gateway()) return;
        nodeId = FunctionCatalog.nodeId(config.dataDir());
        store = authorizer.tokens();
        unpublishedFile = config.dataDir().resolve("auth").resolve(UNPUBLISHED_FILE);
        if (Files.exists(unpublishedFile)) {
            try {
                for (JsonNode id : JSON.readTree(Files.readString(unpublishedFile)).path("ids")) unpublished.add(id.asText());
            } catch (IOException e) {
                // Own tokens are settled from the topic anyway; only revocations of other gateways' tokens made while the broker was away are lost.
                LOG.warnf("cannot read %s (%s); going on without it", unpublishedFile, e.toString());
            }
        }
        store.listen(new TokenStore.Listener() {
            @Override
            public void created(TokenStore.Hashed token) {
                pending(token.token().id());
            }

            @Override
            public void revoked(String id) {
                pending(id);
            }
        });
        producer = KafkaClients.producer(bootstrap, "skiff-tokens-" + nodeId);
        publisher = Thread.ofPlatform().daemon().name("token-publisher").start(this::publishLoop);
        Thread.ofPlatform().daemon().name("token-follower").start(this::follow);
    }

    void stop(@Observes ShutdownEvent ignored) {
        stopping = true;
        KafkaConsumer<String, byte[]> c = following;
        if (c != null) c.wakeup();
        if (publisher != null) publisher.interrupt();
        if (producer != null) producer.close(Duration.ofSeconds(2));
    }

    /** A local change (called under the store's lock): notes the id, in memory and in a small file, and wakes the publisher. */
    private void pending(String id) {
        unpublished.add(id);
        saveUnpublished();
        wake.release();
    }

    private synchronized void saveUnpublished() {
        if (unpublished.isEmpty() && !Files.exists(unpublishedFile)) return;
        try {
            ObjectNode root = JSON.createObjectNode();
            var ids = root.putArray("ids");
            new TreeSet<>(unpublished).forEach(ids::add);
            Files.createDirectories(unpublishedFile.getParent());
            Path tmp = unpublishedFile.resolveSibling(UNPUBLISHED_FILE + ".tmp");
            Files.writeString(tmp, root.toString());
            Files.move(tmp, unpublishedFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warnf("cannot write %s (%s); tokens changed while the broker is away are published when it is back, unless this gateway restarts first",
                    unpublishedFile, e.toString());
        }
    }

    // ---- publishing ---------------------------------------------------------------------------

    private void publishLoop() {
        while (!stopping) {
            try {
                wake.tryAcquire(RETRY_MS, TimeUnit.MILLISECONDS);
                wake.drainPermits();
            } catch (InterruptedException e) {
                return;
            }
            if (!synced || unpublished.isEmpty()) continue;
            for (String id : List.copyOf(unpublished)) {
                try {
                    publish(id);
                    unpublished.remove(id);
                    saveUnpublished();
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    if (stopping) return;
                    LOG.debugf("cannot publish API token %s to %s yet: %s", id, TOPIC, e);
                    break; // the broker is away: try again later
                }
            }
        }
    }

    /** The token's current state on this node: its record if it is one of ours, else a tombstone (revoked here). */
    private void publish(String id) throws Exception {
        byte[] value = recordOf(id);
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(TOPIC, id, value);
        r.headers().add(ORIGIN, nodeId.getBytes(StandardCharsets.UTF_8));
        producer.send(r).get(10, TimeUnit.SECONDS);
        LOG.debugf("published API token %s to %s (%s)", id, TOPIC, value == null ? "revoked" : "created");
    }

    /** What to publish for a token: its record (JSON, never the token itself) if it is one of this node's, else null, a tombstone. */
    byte[] recordOf(String id) {
        var local = store.local(id);
        if (local.isEmpty()) return null;
        TokenStore.Token t = local.get().token();
        ObjectNode record = JSON.createObjectNode();
        record.put("id", t.id()).put("name", t.name()).put("scope", t.scope().wire()).put("createdAt", t.createdAt().toString())
                .put("sha256", local.get().sha256());
        return record.toString().getBytes(StandardCharsets.UTF_8);
    }

    // ---- following ----------------------------------------------------------------------------

    private void follow() {
        while (!stopping) {
            synced = false;
            try (KafkaConsumer<String, byte[]> consumer = KafkaClients.reader(bootstrap, "skiff-tokens-follower-" + nodeId)) {
                following = consumer;
                if (stopping) return;
                List<TopicPartition> parts = FunctionCatalog.partitions(consumer, TOPIC);
                if (parts.isEmpty()) {
                    Thread.sleep(1000);
                    continue;
                }
                consumer.assign(parts);
                consumer.seekToBeginning(parts);
                catchUp(consumer, parts);
                synced = true;
                wake.release();
                while (!stopping) {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                        if (!ownRecord(r)) apply(r.key(), r.value());
                    }
                }
            } catch (InterruptedException | org.apache.kafka.common.errors.InterruptException | org.apache.kafka.common.errors.WakeupException e) {
                return;
            } catch (RuntimeException e) {
                if (stopping) return;
                LOG.warnf("following %s failed (%s); starting over", TOPIC, e.toString());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Reads the topic to the end it had when this started, then settles what this node and the topic disagree on. */
    private void catchUp(KafkaConsumer<String, byte[]> consumer, List<TopicPartition> parts) {
        Map<TopicPartition, Long> end = consumer.endOffsets(parts);
        Map<String, Latest> latest = new HashMap<>();
        while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                Header origin = r.headers().lastHeader(ORIGIN);
                if (r.key() != null) latest.put(r.key(), new Latest(origin == null ? null : new String(origin.value(), StandardCharsets.UTF_8), r.value()));
            }
        }
        settle(latest);
    }

    /**
     * Settles what this node and the topic (its latest record per token) disagree on: tombstones
     * remove tokens, this node's own from its file too; other gateways' records are learned; this
     * node's tokens without a record, and its records of tokens it no longer has, are to be
     * published (the publisher does so once {@link #synced} is set).
     */
    void settle(Map<String, Latest> latest) {
        int learned = 0, revoked = 0;
        for (var e : latest.entrySet()) {
            String id = e.getKey();
            Latest r = e.getValue();
            if (r.value() == null) {
                unpublished.remove(id); // already revoked on the topic
                if (forget(id)) revoked++;
            } else if (nodeId.equals(r.origin())) {
                // Ours on the topic but no longer in tokens.json: revoked here while the broker was away, or the file was deleted.
                if (store.local(id).isEmpty()) unpublished.add(id);
            } else if (apply(id, r.value())) {
                learned++;
            }
        }
        for (TokenStore.Hashed mine : store.locals()) {
            if (!latest.containsKey(mine.token().id())) unpublished.add(mine.token().id());
        }
        saveUnpublished();
        LOG.infof("%s read: %d API token(s) of other gateways, %d revoked elsewhere, %d change(s) of this gateway to publish",
                TOPIC, learned, revoked, unpublished.size());
    }

    private boolean ownRecord(ConsumerRecord<String, byte[]> r) {
        Header origin = r.headers().lastHeader(ORIGIN);
        return origin != null && nodeId.equals(new String(origin.value(), StandardCharsets.UTF_8));
    }

    /** Another gateway's record or tombstone. True if a token was learned or forgotten. */
    private boolean apply(String id, byte[] value) {
        if (id == null) return false;
        if (value == null) return forget(id);
        try {
            JsonNode t = JSON.readTree(value);
            TokenStore.Scope scope = TokenStore.Scope.parse(t.path("scope").asText())
                    .orElseThrow(() -> new IllegalArgumentException("unknown scope " + t.path("scope")));
            TokenStore.Token token = new TokenStore.Token(id, t.path("name").asText(), scope, Instant.parse(t.path("createdAt").asText()));
            boolean changed;
            // The store's changes, and its listener calls, hold its monitor: a revocation here
            // cannot slip in between this check and learning the token.
            synchronized (store) {
                // Revoked here, its tombstone not published yet: never let the record bring it back.
                if (unpublished.contains(id) && store.local(id).isEmpty()) return false;
                changed = store.learn(new TokenStore.Hashed(token, t.path("sha256").asText()));
            }
            if (changed) LOG.debugf("learned API token %s (%s, scope %s) from %s", id, token.name(), scope.wire(), TOPIC);
            return changed;
        } catch (IOException | RuntimeException e) {
            // A record this Skiff cannot use (a newer format): skip it rather than stop following.
            LOG.errorf("%s: cannot use the record of API token %s: %s", TOPIC, id, e.toString());
            return false;
        }
    }

    private boolean forget(String id) {
        try {
            boolean gone = store.forget(id);
            if (gone) LOG.infof("API token %s was revoked on another gateway", id);
            return gone;
        } catch (IOException e) {
            // This node's file could not be written: the token stays until the next start reads the tombstone again.
            LOG.errorf("API token %s was revoked on another gateway, but %s", id, e.toString());
            return false;
        }
    }
}
