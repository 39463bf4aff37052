package dev.skiff.bench;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Kafka trigger benchmark against a running Skiff and its broker (bench/trigger.sh starts both):
 * a backlog of N records drained into a result topic, records per second, by
 * <ol>
 *   <li>a plain consume-and-produce loop (poll, produce each value, flush, commit): the broker's
 *       and the Kafka client's own pace, the baseline the issue names;</li>
 *   <li>the same loop calling the function once per record through the gateway (/fn/NAME, the
 *       same concurrency as the trigger) before producing its answer: what a hand-written
 *       connector gets, the cost of "a record becomes an HTTP call" without Skiff's trigger;</li>
 *   <li>Skiff's trigger, per ordering (none, key, partition) and batch size (1: a record is a
 *       call; more: up to that many waiting records per call, as a JSON array), with a result
 *       topic. The function is the same echo: a batch's echo is one result per record.</li>
 * </ol>
 * Every rate is measured the same way, by one reader of the output topic: (records - 1) / (time
 * of the last record read - time of the first), so joining the group and cold starts are not
 * counted. Rounds interleave the variants; a ratio is the median over the rounds of each round's
 * rate over that round's baseline. {@code --help} lists the options.
 */
public final class TriggerBench {
    static final String ECHO = "def handle(event, context):\n    return event.body\n";

    String gateway;
    String kafka;
    long serverPid;
    Path work;
    int records = 20_000;
    int rounds = 2;
    int concurrency = 16;
    int partitions = 3;
    int keys = 100;
    List<String> orderings = List.of("none", "key", "partition");
    List<Integer> batchSizes = List.of(1, 100);
    String repro = "bench/trigger.sh";

    final PrintStream out = System.out;
    final List<String> summary = new ArrayList<>();
    final List<String> problems = new ArrayList<>();
    SkiffUnderTest skiff;

    static final String USAGE = """
            usage: TriggerBench --gateway URL --kafka HOST:PORT --server-pid PID --work DIR [options]
              --records 20000      records in each backlog
              --rounds 2           rounds; each runs every variant once, in turn
              --concurrency 16     records in flight (trigger concurrency; the connector loop's callers)
              --orderings none,key,partition
              --batch-sizes 1,100  the trigger's batchSize, each a variant per ordering
              --partitions 3 --keys 100
              --repro TEXT         how to run this again (printed in the summary)
            """;

    public static void main(String[] args) throws Exception {
        TriggerBench b = new TriggerBench();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.print(USAGE);
                return;
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException(a + " needs a value\n" + USAGE);
            String v = args[++i];
            switch (a) {
                case "--gateway" -> b.gateway = v;
                case "--kafka" -> b.kafka = v;
                case "--server-pid" -> b.serverPid = Long.parseLong(v);
                case "--work" -> b.work = Path.of(v);
                case "--records" -> b.records = Integer.parseInt(v);
                case "--rounds" -> b.rounds = Integer.parseInt(v);
                case "--concurrency" -> b.concurrency = Integer.parseInt(v);
                case "--orderings" -> b.orderings = List.of(v.split(","));
                case "--batch-sizes" -> b.batchSizes = java.util.Arrays.stream(v.split(",")).map(Integer::valueOf).toList();
                case "--partitions" -> b.partitions = Integer.parseInt(v);
                case "--keys" -> b.keys = Integer.parseInt(v);
                case "--repro" -> b.repro = v;
                default -> throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
            }
        }
        if (b.gateway == null || b.kafka == null || b.work == null) throw new IllegalArgumentException(USAGE);
        System.exit(b.run());
    }

    int run() throws Exception {
        skiff = new SkiffUnderTest(gateway, serverPid);
        Files.createDirectories(work);
        Report.heading(out, "Kafka triggers: " + records + " records per backlog, " + partitions + " partitions, concurrency " + concurrency);
        SkiffUnderTest.writeFunction(work.resolve("fn"), "echo", ECHO, "concurrency: " + concurrency, "maxScale: 2", "minScale: 1");
        skiff.deploy(work.resolve("fn").resolve("echo"), true);
        Map<String, List<Double>> rates = new java.util.LinkedHashMap<>();
        for (int round = 1; round <= rounds; round++) {
            out.printf("round %d of %d%n", round, rounds);
            rates.computeIfAbsent("loop", k -> new ArrayList<>()).add(measure("loop-" + round, this::plainLoop));
            rates.computeIfAbsent("loop+call", k -> new ArrayList<>()).add(measure("call-" + round, this::callingLoop));
            for (int batchSize : batchSizes) {
                for (String ordering : orderings) {
                    String variant = variant(ordering, batchSize);
                    String tag = "t" + ordering + (batchSize == 1 ? "" : "-b" + batchSize) + "-" + round;
                    rates.computeIfAbsent(variant, k -> new ArrayList<>()).add(measure(tag, (in, outTopic) -> trigger(in, outTopic, ordering, batchSize)));
                }
            }
        }
        // Ratios pair each measurement with the baseline of its own round (measured minutes
        // apart, not a whole run apart), then take the median: the machine's load drifts.
        summary.add(String.format(Locale.ROOT, "| variant | records/s (median of %d) | vs plain loop (median of the rounds' ratios) | vs loop calling the function |", rounds));
        summary.add("| --- | ---: | ---: | ---: |");
        for (var e : rates.entrySet()) {
            summary.add(String.format(Locale.ROOT, "| %s | %.0f | %.3f | %.2f |", e.getKey(), median(e.getValue()),
                    medianRatio(e.getValue(), rates.get("loop")), medianRatio(e.getValue(), rates.get("loop+call"))));
        }
        for (int batchSize : batchSizes) {
            for (String ordering : List.of("none", "key")) {
                List<Double> r = rates.get(variant(ordering, batchSize));
                if (r == null) continue;
                double ratio = medianRatio(r, rates.get("loop"));
                summary.add(String.format(Locale.ROOT, "target: %s >= 0.5 x the plain loop: %s (%.3f; rounds: %s)", variant(ordering, batchSize),
                        ratio >= 0.5 ? "MET" : "MISSED", ratio, ratios(r, rates.get("loop"))));
            }
        }
        Report.summary(out, "Kafka trigger benchmark", SkiffUnderTest.hostLine(CgroupLayout.of("skiff-bench7", Long.toString(serverPid))), repro, summary, problems);
        return problems.isEmpty() ? 0 : 1;
    }

    interface Variant {
        void drain(String in, String outTopic) throws Exception;
    }

    /** Fills a fresh input topic, runs the variant until the output topic has every record, and returns records/s. */
    double measure(String tag, Variant variant) throws Exception {
        String in = "bench-in-" + tag, outTopic = "bench-out-" + tag;
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka))) {
            admin.createTopics(List.of(new NewTopic(in, partitions, (short) 1), new NewTopic(outTopic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        try (KafkaProducer<String, String> p = producer()) {
            List<Future<?>> sent = new ArrayList<>();
            for (int i = 0; i < records; i++) sent.add(p.send(new ProducerRecord<>(in, "k" + (i % keys), "id-" + i)));
            for (Future<?> f : sent) f.get(120, TimeUnit.SECONDS);
        }
        try (OutputReader reader = new OutputReader(outTopic)) {
            AtomicBoolean failed = new AtomicBoolean();
            Thread t = Thread.ofPlatform().name("variant-" + tag).start(() -> {
                try {
                    variant.drain(in, outTopic);
                } catch (Exception e) {
                    failed.set(true);
                    problems.add(tag + ": " + e);
                }
            });
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
            while (reader.distinct() < records && !failed.get() && System.nanoTime() < deadline) Thread.sleep(50);
            stopLoops.set(true);
            t.join(60_000);
            stopLoops.set(false);
            if (reader.distinct() < records) problems.add(tag + ": only " + reader.distinct() + " of " + records + " records came out");
            double rate = (reader.distinct() - 1) / ((reader.last - reader.first) / 1e9);
            out.printf(Locale.ROOT, "  %-22s %8.0f records/s (%d out, %d duplicates)%n", tag, rate, reader.total, reader.total - reader.distinct());
            return rate;
        }
    }

    final AtomicBoolean stopLoops = new AtomicBoolean();

    /** The baseline: poll, produce each record's value, flush, commit (at-least-once, no work per record). */
    void plainLoop(String in, String outTopic) throws Exception {
        try (KafkaConsumer<String, String> c = consumer("bench-loop-" + in); KafkaProducer<String, String> p = producer()) {
            c.subscribe(List.of(in));
            while (!stopLoops.get()) {
                ConsumerRecords<String, String> batch = c.poll(Duration.ofMillis(100));
                for (ConsumerRecord<String, String> r : batch) p.send(new ProducerRecord<>(outTopic, r.key(), r.value()));
                p.flush();
                c.commitSync();
            }
        }
    }

    /** The loop as a hand-written connector: each record POSTed to the function through the gateway, {@link #concurrency} at once. */
    void callingLoop(String in, String outTopic) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        URI fn = URI.create(gateway + "/fn/echo");
        try (KafkaConsumer<String, String> c = consumer("bench-call-" + in); KafkaProducer<String, String> p = producer();
                ExecutorService callers = Executors.newFixedThreadPool(concurrency)) {
            c.subscribe(List.of(in));
            while (!stopLoops.get()) {
                List<Future<?>> calls = new ArrayList<>();
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
                    calls.add(callers.submit(() -> {
                        HttpResponse<String> resp = http.send(HttpRequest.newBuilder(fn).POST(HttpRequest.BodyPublishers.ofString(r.value())).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (resp.statusCode() != 200) throw new IllegalStateException("echo answered " + resp.statusCode());
                        p.send(new ProducerRecord<>(outTopic, r.key(), resp.body()));
                        return null;
                    }));
                }
                for (Future<?> f : calls) f.get();
                p.flush();
                c.commitSync();
            }
        }
    }

    static String variant(String ordering, int batchSize) {
        return "trigger " + ordering + (batchSize == 1 ? "" : ", batches of " + batchSize);
    }

    /** Skiff's trigger: a function whose trigger reads {@code in} and writes its answers to {@code outTopic}. */
    void trigger(String in, String outTopic, String ordering, int batchSize) throws Exception {
        String name = in.replaceAll("[^a-z0-9]", "-").replaceAll("-+", "-");
        SkiffUnderTest.writeFunction(work.resolve("fn"), name, ECHO, "concurrency: " + concurrency, "maxScale: 2",
                "triggers:", "  - topic: " + in, "    startFrom: earliest", "    ordering: " + ordering,
                "    concurrency: " + concurrency, "    batchSize: " + batchSize, "    resultTopic: " + outTopic);
        skiff.deploy(work.resolve("fn").resolve(name), true);
        while (!stopLoops.get()) Thread.sleep(100);
        skiff.delete(name);
    }

    KafkaConsumer<String, String> consumer(String group) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    KafkaProducer<String, String> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        // Not idempotent: one failed first batch can leave an idempotent producer stuck on
        // OUT_OF_ORDER_SEQUENCE_NUMBER (KAFKA-14359); duplicates do not matter here (distinct ids count).
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    /** Reads an output topic from the beginning; the time of the first and the last new value read. */
    final class OutputReader implements AutoCloseable {
        final Set<String> seen = ConcurrentHashMap.newKeySet();
        volatile long first, last, total;
        final AtomicBoolean running = new AtomicBoolean(true);
        final Thread thread;

        OutputReader(String topic) {
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "20");
            thread = Thread.ofPlatform().daemon().name("reader-" + topic).start(() -> {
                try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
                    List<TopicPartition> parts = new ArrayList<>();
                    for (var info : c.partitionsFor(topic, Duration.ofSeconds(10))) parts.add(new TopicPartition(topic, info.partition()));
                    c.assign(parts);
                    c.seekToBeginning(parts);
                    while (running.get()) {
                        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(50))) {
                            total++;
                            if (r.value() != null && seen.add(r.value())) {
                                long now = System.nanoTime();
                                if (first == 0) first = now;
                                last = now;
                            }
                        }
                    }
                }
            });
        }

        int distinct() {
            return seen.size();
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join(5000);
        }
    }

    /** Each round's rate over the same round's baseline. */
    static List<Double> roundRatios(List<Double> rates, List<Double> baseline) {
        List<Double> r = new ArrayList<>();
        for (int i = 0; i < rates.size(); i++) r.add(rates.get(i) / baseline.get(i));
        return r;
    }

    static double medianRatio(List<Double> rates, List<Double> baseline) {
        return median(roundRatios(rates, baseline));
    }

    static String ratios(List<Double> rates, List<Double> baseline) {
        return String.join(", ", roundRatios(rates, baseline).stream().map(x -> String.format(Locale.ROOT, "%.2f", x)).toList());
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
}
