package dev.skiff.kafka;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;

/**
 * A real single-node Apache Kafka broker (KRaft: broker and controller in one process) on
 * loopback, for {@code fn up} and for tests.
 *
 * <p>The broker runs in a child JVM (the same {@code java} as this one) so that its Scala/Kafka
 * classpath and its log4j2 logging never mix with Skiff's. Its jars are the ones the build copied
 * into {@code kafka-local/target/kafka-broker-lib} (see {@link #brokerLib()}). Layout under
 * {@code <dataDir>/kafka}: {@code server.properties} and {@code log4j2.properties} (rewritten on
 * every start), {@code logs/} (the broker's {@code log.dirs}: topics and the KRaft metadata log,
 * formatted on the first start only and kept across restarts), {@code broker.log} (the child's
 * stdout and stderr; the previous start's is kept as {@code broker.log.1}).
 *
 * <p>The child never outlives this JVM: {@link #stop()} runs from a shutdown hook, and if this JVM
 * dies without running hooks (SIGKILL) the child notices that its standard input, a pipe from this
 * JVM, reached end-of-file and shuts itself down (see {@code BrokerMain}).
 */
public final class LocalKafka implements AutoCloseable {
    /** System property naming the directory with the broker's jars (overrides the built-in path). */
    public static final String BROKER_LIB_PROPERTY = "skiff.kafka.broker-lib";
    /** Environment variable naming the directory with the broker's jars (after the property). */
    public static final String BROKER_LIB_ENV = "SKIFF_KAFKA_BROKER_LIB";
    /** System property: extra JVM options for the broker's JVM, separated by spaces. */
    public static final String JVM_OPTIONS_PROPERTY = "skiff.kafka.jvm-options";

    static final String HOST = "127.0.0.1";
    static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
    private static final int LOG_LINES_ON_FAILURE = 25;
    private static final int MAX_ERRORS_ON_FAILURE = 5;
    private static final String BROKER_MAIN = "dev.skiff.kafka.broker.BrokerMain";

    private final Process process;
    /** Our end of the child's stdin: the watchdog's lifeline. Held (never written) until stop(). */
    private final OutputStream lifeline;
    private final String bootstrapServers;
    private final Path kafkaDir;
    private final Path logFile;
    private final FileChannel lockChannel;
    private final Thread shutdownHook;
    private volatile boolean stopRequested;
    private boolean terminated;

    private LocalKafka(Process process, String bootstrapServers, Path kafkaDir, Path logFile, FileChannel lockChannel) {
        this.process = process;
        this.lifeline = process.getOutputStream();
        this.bootstrapServers = bootstrapServers;
        this.kafkaDir = kafkaDir;
        this.logFile = logFile;
        this.lockChannel = lockChannel;
        this.shutdownHook = new Thread(this::stopFromHook, "skiff-kafka-stop");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Starts a broker with its data in {@code <dataDir>/kafka} and returns once it answers an
     * AdminClient's describeCluster (at most {@link #START_TIMEOUT}).
     *
     * @param port the client (PLAINTEXT) port on 127.0.0.1; 0 picks a free one. The controller
     *     listener always gets a free port of its own.
     * @throws IOException if the broker cannot be started, exits, or is not ready in time (the
     *     message ends with the last lines of its log), or another broker uses this data directory
     */
    public static LocalKafka start(Path dataDir, int port) throws IOException {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        Path kafkaDir = dataDir.toAbsolutePath().normalize().resolve("kafka");
        Path logDirs = kafkaDir.resolve("logs");
        Files.createDirectories(logDirs);
        Path lib = brokerLib();
        List<String> classpath = brokerClasspath(lib);
        FileChannel lock = lockDataDir(kafkaDir);
        try {
            // A free port found now may be taken before the broker binds it: with port 0, try anew.
            int attempts = port == 0 ? 3 : 1;
            for (int attempt = 1; ; attempt++) {
                int brokerPort = port == 0 ? freePort() : port;
                int controllerPort = freePort(brokerPort);
                Path serverProperties = kafkaDir.resolve("server.properties");
                Files.writeString(serverProperties, serverProperties(brokerPort, controllerPort, logDirs));
                Path log4j = kafkaDir.resolve("log4j2.properties");
                Files.writeString(log4j, LOG4J2_PROPERTIES);
                // meta.properties is what `kafka-storage format` writes: its presence means formatted.
                boolean format = !Files.exists(logDirs.resolve("meta.properties"));
                Path logFile = kafkaDir.resolve("broker.log");
                if (Files.exists(logFile)) {
                    Files.move(logFile, kafkaDir.resolve("broker.log.1"), StandardCopyOption.REPLACE_EXISTING);
                }

                // Kafka's own defaults (kafka-run-class.sh) but a smaller heap; the extra options
                // come last so that they win (a GC of their own replaces G1: the JVM refuses two).
                List<String> extra = jvmOptions();
                List<String> command = new ArrayList<>();
                command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
                command.addAll(List.of("-Xms128m", "-Xmx512m"));
                if (extra.stream().noneMatch(o -> o.startsWith("-XX:+Use") && o.endsWith("GC"))) {
                    command.addAll(List.of("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"));
                }
                command.addAll(List.of("-Djava.awt.headless=true", "--enable-native-access=ALL-UNNAMED",
                        "-Dlog4j2.configurationFile=" + log4j));
                command.addAll(extra);
                int cp = command.size() + 1;
                command.addAll(List.of("-cp", String.join(File.pathSeparator, classpath), BROKER_MAIN));
                if (format) command.addAll(List.of("--format", Uuid.randomUuid().toString()));
                command.add(serverProperties.toString());

                List<String> shown = new ArrayList<>(command);
                shown.set(cp, lib.resolve("classes") + File.pathSeparator + lib.resolve("*.jar"));
                Files.writeString(logFile, "# skiff " + Instant.now() + ": " + String.join(" ", shown) + "\n");
                Process process = new ProcessBuilder(command)
                        .directory(kafkaDir.toFile())
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                        .redirectInput(ProcessBuilder.Redirect.PIPE)
                        .start();
                String bootstrap = HOST + ":" + brokerPort;
                LocalKafka kafka = new LocalKafka(process, bootstrap, kafkaDir, logFile, lock);
                try {
                    kafka.awaitReady(brokerPort);
                    return kafka;
                } catch (BrokerDiedException e) {
                    kafka.terminate();
                    kafka.removeShutdownHook();
                    String log = lastLines(logFile);
                    if (attempt < attempts && log.contains("Address already in use")) continue;
                    throw new IOException("the Kafka broker exited with code " + e.exitCode + " while starting; " + log);
                } catch (IOException | RuntimeException | Error e) {
                    kafka.terminate();
                    kafka.removeShutdownHook();
                    throw e;
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            closeQuietly(lock);
            throw e;
        }
    }

    /** {@code 127.0.0.1:<port>}: what clients put in {@code bootstrap.servers}. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Whether the broker's process is alive. */
    public boolean isRunning() {
        return process.isAlive();
    }

    /** The broker JVM's pid. */
    public long pid() {
        return process.pid();
    }

    /** {@code <dataDir>/kafka/broker.log}: the broker's own output. */
    public Path logFile() {
        return logFile;
    }

    /** {@code <dataDir>/kafka}. */
    public Path kafkaDir() {
        return kafkaDir;
    }

    /** Blocks until the broker's process exits (for whatever reason) and returns its exit code. */
    public int waitFor() throws InterruptedException {
        return process.waitFor();
    }

    /** Whether {@link #stop()} was called (or the shutdown hook ran): tells an expected exit from a crash. */
    public boolean stopRequested() {
        return stopRequested;
    }

    /**
     * Stops the broker: SIGTERM (Kafka shuts down cleanly), up to {@link #STOP_TIMEOUT}, then
     * SIGKILL. Releases the data directory. Idempotent.
     */
    public void stop() {
        stopRequested = true;
        terminate();
        closeQuietly(lockChannel);
        removeShutdownHook();
    }

    @Override
    public void close() {
        stop();
    }

    private void stopFromHook() {
        stopRequested = true;
        terminate();
        closeQuietly(lockChannel);
    }

    /** Ends the process (SIGTERM, then SIGKILL after STOP_TIMEOUT) and drops the lifeline. */
    private synchronized void terminate() {
        if (terminated) return;
        terminated = true;
        boolean interrupted = false;
        if (process.isAlive()) {
            // Through the handle: Process.destroy() also closes the child's stdin, our lifeline, and
            // the broker's watchdog would then race the SIGTERM with a System.exit of its own.
            process.toHandle().destroy();
            try {
                if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                interrupted = true;
                process.destroyForcibly();
            }
        }
        closeQuietly(lifeline);
        if (interrupted) Thread.currentThread().interrupt();
    }

    private void removeShutdownHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs (and finds the broker stopped) or already ran
        }
    }

    // ---------------------------------------------------------------- readiness

    private static final class BrokerDiedException extends IOException {
        final int exitCode;

        BrokerDiedException(int exitCode) {
            super("broker exited with code " + exitCode);
            this.exitCode = exitCode;
        }
    }

    /**
     * First a plain TCP connect (silent), then describeCluster until it lists the broker: only an
     * unfenced broker is listed, so topics can be created as soon as this returns.
     */
    private void awaitReady(int port) throws IOException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        Properties config = new Properties();
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(AdminClientConfig.CLIENT_ID_CONFIG, "skiff-kafka-launcher");
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        config.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
        // Created first, while the broker's JVM boots: loading the client's classes takes a while
        // too. It connects to nothing until it is asked something.
        Admin admin = Admin.create(config);
        try {
            while (true) {
                checkAlive(deadline);
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress(HOST, port), 250);
                    break;
                } catch (IOException e) {
                    sleep(100);
                }
            }
            while (true) {
                checkAlive(deadline);
                try {
                    Collection<Node> nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(2000))
                            .nodes().get(3, TimeUnit.SECONDS);
                    if (!nodes.isEmpty()) return;
                } catch (ExecutionException | TimeoutException e) {
                    // not ready yet
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the Kafka broker", e);
                }
                sleep(200);
            }
        } finally {
            admin.close(Duration.ofSeconds(2));
        }
    }

    private void checkAlive(long deadline) throws IOException {
        if (!process.isAlive()) throw new BrokerDiedException(process.exitValue());
        if (System.nanoTime() > deadline) {
            throw new IOException("the Kafka broker was not ready within " + START_TIMEOUT.toSeconds() + " s; "
                    + lastLines(logFile));
        }
    }

    private static void sleep(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the Kafka broker", e);
        }
    }

    // ---------------------------------------------------------------- configuration

    static String serverProperties(int port, int controllerPort, Path logDirs) {
        return String.join("\n",
                "# Written by Skiff (dev.skiff.kafka.LocalKafka) on every start: edits are lost.",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@" + HOST + ":" + controllerPort,
                "listeners=PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort,
                "advertised.listeners=PLAINTEXT://" + HOST + ":" + port,
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + logDirs,
                "num.partitions=1",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                // Default 50: the first consumer group then waits for 50 partitions to be created.
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "");
    }

    /** The broker's log4j2: everything to stdout, which the launcher sends to broker.log. */
    static final String LOG4J2_PROPERTIES = String.join("\n",
            "# Written by Skiff (dev.skiff.kafka.LocalKafka) on every start: edits are lost.",
            "status = warn",
            "appender.stdout.type = Console",
            "appender.stdout.name = STDOUT",
            "appender.stdout.layout.type = PatternLayout",
            "appender.stdout.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.stdout.ref = STDOUT",
            "logger.request.name = kafka.request.logger",
            "logger.request.level = WARN",
            "logger.clients.name = org.apache.kafka.clients",
            "logger.clients.level = WARN",
            "");

    private static List<String> jvmOptions() {
        String extra = System.getProperty(JVM_OPTIONS_PROPERTY, "").strip();
        return extra.isEmpty() ? List.of() : List.of(extra.split("\\s+"));
    }

    // ---------------------------------------------------------------- the broker's jars

    /**
     * The directory with the broker's jars and {@code classes/} (BrokerMain): the system property
     * {@value #BROKER_LIB_PROPERTY}, else the environment variable {@value #BROKER_LIB_ENV}, else
     * the path the build wrote into {@code kafka-local.properties} ({@code
     * kafka-local/target/kafka-broker-lib} of the tree that was built). The build fills it; see
     * kafka-local/pom.xml.
     */
    static Path brokerLib() throws IOException {
        String configured = System.getProperty(BROKER_LIB_PROPERTY);
        if (configured == null || configured.isBlank()) configured = System.getenv(BROKER_LIB_ENV);
        String origin;
        if (configured != null && !configured.isBlank()) {
            origin = BROKER_LIB_PROPERTY + " / " + BROKER_LIB_ENV;
        } else {
            Properties built = new Properties();
            try (InputStream in = LocalKafka.class.getResourceAsStream("kafka-local.properties")) {
                if (in == null) throw new IOException("kafka-local.properties is missing from kafka-local's classes");
                built.load(in);
            }
            configured = built.getProperty("broker.lib");
            origin = "the build (kafka-local.properties)";
        }
        Path lib = Path.of(configured);
        if (!Files.isDirectory(lib.resolve("classes")) || !Files.isDirectory(lib)) {
            throw new IOException("no Kafka broker jars in " + lib + " (from " + origin + "): build kafka-local"
                    + " (./mvnw -pl kafka-local package) or point " + BROKER_LIB_PROPERTY + " at a kafka-broker-lib");
        }
        return lib;
    }

    static List<String> brokerClasspath(Path lib) throws IOException {
        List<String> classpath = new ArrayList<>();
        classpath.add(lib.resolve("classes").toString());
        try (Stream<Path> files = Files.list(lib)) {
            files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted()
                    .forEach(f -> classpath.add(f.toString()));
        }
        if (classpath.size() == 1) throw new IOException("no jars in " + lib);
        return classpath;
    }

    // ---------------------------------------------------------------- helpers

    /** One launcher per data directory: a second broker would fight over log.dirs and the files above. */
    private static FileChannel lockDataDir(Path kafkaDir) throws IOException {
        Path lockFile = kafkaDir.resolve("launcher.lock");
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            channel.close();
            throw new IOException("a Kafka broker started by Skiff already uses " + kafkaDir);
        }
        return channel;
    }

    static int freePort(int... avoid) throws IOException {
        for (int i = 0; i < 10; i++) {
            int port;
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
                port = socket.getLocalPort();
            }
            boolean clash = false;
            for (int a : avoid) clash |= a == port;
            if (!clash) return port;
        }
        throw new IOException("no free port on " + HOST);
    }

    /**
     * For error messages: the broker's ERROR/FATAL lines, each with the line after it (usually the
     * exception's message; the stack traces that follow would bury them), then its last lines.
     */
    static String lastLines(Path file) {
        LogScan scan = scanLog(file);
        if (scan.last().isEmpty()) return "its log " + file + " is empty";
        StringBuilder text = new StringBuilder();
        if (!scan.errors().isEmpty()) {
            text.append("errors in ").append(file).append(":\n").append(String.join("\n", scan.errors())).append('\n');
        }
        return text.append("last lines of ").append(file).append(":\n").append(String.join("\n", scan.last())).toString();
    }

    private record LogScan(List<String> errors, List<String> last) {}

    private static LogScan scanLog(Path file) {
        List<String> errors = new ArrayList<>();
        Deque<String> last = new ArrayDeque<>();
        boolean[] afterError = {false};
        try (Stream<String> lines = Files.lines(file, StandardCharsets.ISO_8859_1)) {
            lines.forEach(line -> {
                if (afterError[0]) {
                    errors.add("    " + line.strip());
                    afterError[0] = false;
                }
                if (errors.size() < 2 * MAX_ERRORS_ON_FAILURE && line.startsWith("[")
                        && (line.contains("] ERROR ") || line.contains("] FATAL "))) {
                    errors.add(line);
                    afterError[0] = true;
                }
                if (last.size() == LOG_LINES_ON_FAILURE) last.removeFirst();
                last.addLast(line);
            });
        } catch (IOException | UncheckedIOException e) {
            return new LogScan(List.of(), List.of());
        }
        return new LogScan(errors, new ArrayList<>(last));
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception e) {
            // nothing left to do
        }
    }
}
