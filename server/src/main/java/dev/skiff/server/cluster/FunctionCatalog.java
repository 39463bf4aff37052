package dev.skiff.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.gateway.FunctionChanged;
import dev.skiff.gateway.FunctionStore;
import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.LocalInvoker;
import dev.skiff.invoker.SkiffConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The function set shared through Kafka, so that every gateway and invoker sees the same
 * functions (the data directory stays each node's durable copy):
 *
 * <pre>
 *   fn.functions  compacted, key = function name:
 *                 {"name","version","deployedAt","package":{"partition","offset","chunks","bytes"}}
 *                 or a tombstone when the function is deleted; header "origin" = the node that wrote it
 *   fn.packages   compacted, key = name/version/chunk: the uploaded archive in 512 KiB records
 * </pre>
 *
 * A gateway publishes the package first, then the function record that points at it, so a
 * reader that sees the record can always fetch the package. Every node reads fn.functions from
 * the beginning at start and then follows it, its own records included, so that every node ends
 * on the state of the log's last record: it stores versions it lacks (from fn.packages),
 * switches its current version and, with the invoker role, activates it or retires a deleted
 * function. A function with a change of this node's that is not on the log yet (being published,
 * or waiting for the broker) keeps its current version: that change comes later in the log.
 *
 * <p>Version numbers are chosen by the gateway that deploys, so two gateways deploying one
 * function at the same moment can both choose the same number. The record carries the
 * package's SHA-256, and the first record on the log for a number takes it, on every node: a
 * later record with that number and another package is ignored, and the gateway that wrote it
 * moves its upload to the next free number and publishes it again. The deploy's answer waits
 * until this node has read its own record back, so it names the number the upload ends with.
 */
@ApplicationScoped
public class FunctionCatalog {
    private static final Logger LOG = Logger.getLogger(FunctionCatalog.class);
    public static final String FUNCTIONS_TOPIC = "fn.functions";
    public static final String PACKAGES_TOPIC = "fn.packages";
    public static final String INVOKERS_TOPIC = "fn.invokers";
    static final int CHUNK_BYTES = 512 * 1024;
    private static final String ORIGIN = "origin";
    private static final String PUBLISHED_FILE = "catalog.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    SkiffConfig config;

    @Inject
    FunctionStore store;

    @Inject
    LocalInvoker local;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;

    private String nodeId;
    private KafkaProducer<String, byte[]> producer;
    private volatile boolean stopping;
    private Thread follower;
    private Thread republisher;
    private volatile KafkaConsumer<String, byte[]> following;
    /** Functions whose latest change could not be published yet (broker down): retried. */
    private final Set<String> unpublished = ConcurrentHashMap.newKeySet();
    /** Functions with a change of this node's being published now (not read back yet). */
    private final Set<String> publishing = ConcurrentHashMap.newKeySet();
    /** Per function, the versions the log has given a package to (the first record with that number), by SHA-256. */
    private final java.util.Map<String, java.util.Map<Long, String>> settled = new ConcurrentHashMap<>();
    /** The offset of the last fn.functions record the follower applied (-1: none yet). */
    private volatile long appliedOffset = -1;
    private final Object applied = new Object();

    void start(@Observes StartupEvent ignored) throws IOException {
        nodeId = nodeId(config.dataDir());
        producer = KafkaClients.producer(bootstrap, "skiff-catalog-" + nodeId);
        if (config.role().gateway()) {
            // Functions deployed while the broker was away (or before the catalog existed).
            for (FunctionStore.Stored s : store.list()) {
                if (!Files.exists(store.versionFile(s.deployment().name(), s.deployment().version(), PUBLISHED_FILE))) unpublished.add(s.deployment().name());
            }
            republisher = Thread.ofPlatform().daemon().name("catalog-republisher").start(this::republish);
        }
        follower = Thread.ofPlatform().daemon().name("catalog-follower").start(this::follow);
    }

    void stop(@Observes ShutdownEvent ignored) {
        stopping = true;
        // wakeup(), not interrupt(): an interrupted consumer cannot close cleanly.
        KafkaConsumer<String, byte[]> c = following;
        if (c != null) c.wakeup();
        if (republisher != null) republisher.interrupt();
        if (producer != null) producer.close(Duration.ofSeconds(2));
    }

    /** Deploy, rollback and delete on this gateway: published before the API answers, so invokers can fetch the version. */
    void changed(@Observes FunctionChanged change) {
        try {
            publishAndReadBack(change.name());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.warnf("could not publish %s to the function catalog yet (%s); retrying in the background", change.name(), e.toString());
        }
    }

    /**
     * Publishes the function as this node has it now (its current version, or a tombstone) and
     * waits until the follower has read the record back: by then a version number another
     * gateway took first has been moved, and the API answers with the number the upload ends with.
     * Left to the republisher when it cannot be published.
     */
    private void publishAndReadBack(String name) throws Exception {
        try {
            // Again (a few times at most) when the follower moved our upload to another number
            // meanwhile: it marks the function unpublished, and the moved version goes out now.
            for (int round = 0; round < 3; round++) {
                // Cleared before the state is read: a mark the follower sets after this stays.
                unpublished.remove(name);
                publishing.add(name); // the follower clears it when it reads our record back
                long offset;
                try {
                    var now = store.get(name);
                    offset = now.isPresent() ? publish(now.get()) : publishDeleted(name);
                } catch (Exception e) {
                    unpublished.add(name);
                    throw e;
                }
                awaitApplied(offset, Duration.ofSeconds(10));
                if (!unpublished.contains(name)) return;
            }
        } finally {
            publishing.remove(name);
        }
    }

    private void awaitApplied(long offset, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        synchronized (applied) {
            while (appliedOffset < offset) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    LOG.warnf("the function catalog has not read back offset %d of %s within %d s; answering anyway", offset, FUNCTIONS_TOPIC, within.toSeconds());
                    return;
                }
                applied.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    /** Publishes the function's current version; returns the record's offset. */
    private long publish(FunctionStore.Stored s) throws Exception {
        FunctionDeployment d = s.deployment();
        JsonNode pkg = publishPackage(d.name(), d.version());
        ObjectNode record = JSON.createObjectNode();
        record.put("name", d.name()).put("version", d.version()).put("deployedAt", s.deployedAt().toString())
                .put("sha256", pkg.path("sha256").asText()).set("package", pkg);
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(FUNCTIONS_TOPIC, d.name(), record.toString().getBytes(StandardCharsets.UTF_8));
        r.headers().add(ORIGIN, nodeId.getBytes(StandardCharsets.UTF_8));
        return producer.send(r).get(10, TimeUnit.SECONDS).offset();
    }

    private long publishDeleted(String name) throws Exception {
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(FUNCTIONS_TOPIC, name, null);
        r.headers().add(ORIGIN, nodeId.getBytes(StandardCharsets.UTF_8));
        return producer.send(r).get(10, TimeUnit.SECONDS).offset();
    }

    /** Sends a version's archive in chunks once; where it went is kept beside the version. */
    private JsonNode publishPackage(String name, long version) throws Exception {
        Path marker = store.versionFile(name, version, PUBLISHED_FILE);
        String sha256 = store.packageSha256(name, version);
        if (Files.exists(marker)) {
            // Only for this very package: a marker written while the follower moved our upload
            // away can sit beside the other gateway's package that took the number.
            JsonNode published = JSON.readTree(Files.readString(marker));
            if (sha256.equals(published.path("sha256").asText())) return published;
        }
        byte[] archive = Files.readAllBytes(store.packageOf(name, version));
        // The package's hash is in its chunks' keys: two uploads given the same number by two
        // gateways must not replace each other's chunks when the topic is compacted.
        String prefix = name + "/" + version + "/" + sha256.substring(0, 16) + "/";
        int chunks = Math.max(1, (archive.length + CHUNK_BYTES - 1) / CHUNK_BYTES);
        List<java.util.concurrent.Future<RecordMetadata>> sends = new ArrayList<>();
        for (int i = 0; i < chunks; i++) {
            byte[] part = java.util.Arrays.copyOfRange(archive, i * CHUNK_BYTES, Math.min(archive.length, (i + 1) * CHUNK_BYTES));
            sends.add(producer.send(new ProducerRecord<>(PACKAGES_TOPIC, 0, prefix + i, part)));
        }
        RecordMetadata first = sends.get(0).get(10, TimeUnit.SECONDS);
        for (var f : sends) f.get(10, TimeUnit.SECONDS);
        ObjectNode pkg = JSON.createObjectNode();
        pkg.put("partition", first.partition()).put("offset", first.offset()).put("chunks", chunks).put("bytes", archive.length)
                .put("prefix", prefix).put("sha256", sha256);
        Path tmp = marker.resolveSibling(PUBLISHED_FILE + ".tmp");
        Files.writeString(tmp, pkg.toString());
        Files.move(tmp, marker, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return pkg;
    }

    private void republish() {
        while (!stopping) {
            try {
                Thread.sleep(5000);
            } catch (InterruptedException e) {
                return;
            }
            for (String name : List.copyOf(unpublished)) {
                try {
                    publishAndReadBack(name);
                    LOG.infof("published %s to the function catalog", name);
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    LOG.debugf("still cannot publish %s: %s", name, e);
                }
            }
        }
    }

    // ---- following ---------------------------------------------------------------------------

    private void follow() {
        while (!stopping) {
            try (KafkaConsumer<String, byte[]> consumer = KafkaClients.reader(bootstrap, "skiff-catalog-follower-" + nodeId)) {
                following = consumer;
                if (stopping) return;
                List<TopicPartition> parts = partitions(consumer, FUNCTIONS_TOPIC);
                if (parts.isEmpty()) {
                    Thread.sleep(1000);
                    continue;
                }
                consumer.assign(parts);
                consumer.seekToBeginning(parts);
                settled.clear(); // read again from the start, in log order
                while (!stopping) {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                        apply(r);
                        synchronized (applied) {
                            appliedOffset = r.offset();
                            applied.notifyAll();
                        }
                    }
                }
            } catch (InterruptedException | org.apache.kafka.common.errors.InterruptException | org.apache.kafka.common.errors.WakeupException e) {
                return;
            } catch (RuntimeException e) {
                if (stopping) return;
                LOG.warnf("following %s failed (%s); starting over", FUNCTIONS_TOPIC, e.toString());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        String name = r.key();
        if (name == null) return;
        var origin = r.headers().lastHeader(ORIGIN);
        boolean own = origin != null && nodeId.equals(new String(origin.value(), StandardCharsets.UTF_8));
        // A change of this node's not on the log yet comes after this record: it decides what is current.
        boolean changedHere = unpublished.contains(name) || (publishing.contains(name) && !own);
        if (own) publishing.remove(name); // read back: records after this one come after the change
        try {
            if (r.value() == null) {
                settled.remove(name);
                if (!changedHere && store.delete(name)) {
                    LOG.infof("function catalog: %s was deleted", name);
                    if (config.role().invoker()) local.retire(name);
                }
                return;
            }
            JsonNode spec = JSON.readTree(r.value());
            long version = spec.path("version").asLong();
            String sha256 = spec.path("sha256").asText(""); // empty: written by a Skiff before hashes
            Instant deployedAt = Instant.parse(spec.path("deployedAt").asText());
            var numbers = settled.computeIfAbsent(name, n -> new ConcurrentHashMap<>());
            VersionClaim claim = claim(numbers.get(version), sha256, name, version, own);
            if (claim == VersionClaim.IGNORE) {
                LOG.infof("function catalog: %s version %d was taken by an earlier record; this one (%s) is moved to another number by the gateway that wrote it",
                        name, version, own ? "this node's" : "another gateway's");
                return;
            }
            // Fetched before the store's lock is taken (it may take seconds), in case it is needed.
            InputStream fetched = claim == VersionClaim.HAVE_IT ? null : fetchPackage(name, version, spec.path("package"));
            boolean[] moved = {false};
            FunctionDeployment d = store.locked(() -> {
                // Again under the store's lock: a deploy on this node may have taken the number meanwhile.
                VersionClaim now = claim(numbers.get(version), sha256, name, version, own);
                if (now == VersionClaim.IGNORE) return null;
                if (now == VersionClaim.MOVE_OURS_AWAY) {
                    moveOursAway(name, version);
                    moved[0] = true;
                }
                FunctionDeployment here = store.version(name, version).orElse(null);
                if (here != null) return here;
                return store.storeVersion(name, version, fetched != null ? fetched : fetchPackage(name, version, spec.path("package")));
            });
            if (d == null) return;
            if (moved[0]) changedHere = true;
            if (!sha256.isEmpty()) numbers.put(version, sha256);
            if (changedHere) return;
            var current = store.get(name);
            if (current.isEmpty() || current.get().deployment().version() != version) {
                store.makeCurrent(name, version, deployedAt);
                if (config.role().invoker()) local.activate(d);
                LOG.infof("function catalog: %s version %d is current", name, version);
            }
        } catch (Exception e) {
            // A record this node cannot use (a package gone, a func.yaml a newer Skiff accepts):
            // say so and go on, rather than stop following every other function.
            LOG.errorf("function catalog: cannot apply %s at offset %d: %s", name, r.offset(), e.toString());
        }
    }

    private VersionClaim claim(String taken, String sha256, String name, long version, boolean own) throws IOException {
        FunctionDeployment here = store.version(name, version).orElse(null);
        VersionClaim claim = VersionClaim.of(taken, sha256, here == null ? null : packageSha256(name, version));
        // Its own record for a number this node holds other code under: it moved its upload away already.
        return own && claim == VersionClaim.MOVE_OURS_AWAY ? VersionClaim.IGNORE : claim;
    }

    /** This node's upload has the number, but the log gave it to another package first: it goes to the next free number. */
    private void moveOursAway(String name, long version) throws IOException {
        long moved = store.renumber(name, version);
        Files.deleteIfExists(store.versionFile(name, moved, PUBLISHED_FILE));
        LOG.warnf("function catalog: %s version %d was deployed on another gateway at the same time; this gateway's upload is now version %d",
                name, version, moved);
        if (config.role().invoker()) {
            local.retireVersion(name, version); // its replicas run this node's code, not what the number names now
            var now = store.get(name);
            if (now.isPresent() && now.get().deployment().version() == moved) local.activate(now.get().deployment());
        }
        unpublished.add(name); // published again under its new number: after this record, so it stays current
    }

    /** The SHA-256 of a stored version's package; null when its package was not kept (stored by a Skiff before that): then it is taken as it is. */
    private String packageSha256(String name, long version) throws IOException {
        try {
            return store.packageSha256(name, version);
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        }
    }

    /** Reads a version's archive back from fn.packages, starting where its record says. */
    private InputStream fetchPackage(String name, long version, JsonNode pkg) throws IOException {
        int chunks = pkg.path("chunks").asInt();
        long bytes = pkg.path("bytes").asLong();
        TopicPartition tp = new TopicPartition(PACKAGES_TOPIC, pkg.path("partition").asInt());
        byte[][] parts = new byte[chunks][];
        int found = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String prefix = pkg.path("prefix").asText(name + "/" + version + "/");
        try (KafkaConsumer<String, byte[]> consumer = KafkaClients.reader(bootstrap, "skiff-catalog-packages-" + nodeId)) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, pkg.path("offset").asLong());
            while (found < chunks) {
                if (System.nanoTime() > deadline) throw new IOException("the package of " + name + " version " + version + " is not on " + PACKAGES_TOPIC);
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    if (r.key() == null || !r.key().startsWith(prefix) || r.value() == null) continue;
                    int i = Integer.parseInt(r.key().substring(prefix.length()));
                    if (i < chunks && parts[i] == null) {
                        parts[i] = r.value();
                        found++;
                    }
                }
            }
        }
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream((int) bytes);
        for (byte[] p : parts) all.write(p);
        if (all.size() != bytes) throw new IOException("the package of " + name + " version " + version + " is " + all.size() + " bytes, not " + bytes);
        return new ByteArrayInputStream(all.toByteArray());
    }

    static List<TopicPartition> partitions(KafkaConsumer<String, byte[]> consumer, String topic) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
        List<TopicPartition> parts = new ArrayList<>();
        if (infos != null) for (PartitionInfo p : infos) parts.add(new TopicPartition(p.topic(), p.partition()));
        return parts;
    }

    /** This node's id in the catalogs: kept in the data directory, so it is the same after a restart. */
    public static synchronized String nodeId(Path dataDir) throws IOException {
        Path file = dataDir.resolve("node-id");
        if (Files.exists(file)) return Files.readString(file).trim();
        Files.createDirectories(dataDir);
        String id = UUID.randomUUID().toString();
        Files.writeString(file, id);
        return id;
    }
}
