package dev.skiff.server;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The packaged server started as its own process, as `fn up` starts it (its own port, data
 * directory, sandbox state directory, cgroup group and credentials file), for end-to-end tests
 * that kill it with SIGKILL and start it again on the same data.
 */
final class SkiffNode {
    static final Path JAR = Path.of("target/quarkus-app/quarkus-run.jar");

    final String name;
    final int port;
    final Path dir;
    private final List<String> command;
    private Process process;

    private SkiffNode(String name, int port, Path dir, List<String> command) {
        this.name = name;
        this.port = port;
        this.dir = dir;
        this.command = command;
    }

    /** Starts a node in {@code work/name} with role {@code role} ("all", "gateway" or "invoker") on the broker at {@code bootstrap}. */
    static SkiffNode start(Path work, String name, String role, String bootstrap, String... extraProperties) throws IOException {
        int port = freePort();
        Path dir = work.resolve(name);
        Files.createDirectories(dir);
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-Dquarkus.http.port=" + port, "-Dquarkus.http.host=127.0.0.1",
                "-Dskiff.role=" + role,
                "-Dskiff.advertised-url=http://127.0.0.1:" + port,
                "-Dskiff.data-dir=" + dir.resolve("data"),
                "-Dskiff.auth.credentials-file=" + dir.resolve("credentials"),
                "-Dskiff.state-dir=/run/skiff-it-" + name + "-" + ProcessHandle.current().pid(),
                "-Dskiff.cgroup-name=skiff-it-" + name + "-" + ProcessHandle.current().pid(),
                "-Dkafka.bootstrap.servers=" + bootstrap));
        for (String p : extraProperties) cmd.add("-D" + p);
        cmd.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
        SkiffNode node = new SkiffNode(name, port, dir, List.copyOf(cmd));
        node.launch();
        return node;
    }

    private void launch() throws IOException {
        // Appends: the log of every start of this node, one after the other.
        process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("skiff.log").toFile())).start();
    }

    /** SIGKILL, as a crash or the OOM killer would end it; returns once it is gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /** Starts it again on the same port and data. */
    void restart() throws IOException {
        launch();
    }

    Process process() {
        return process;
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    /** The admin token this node's first start wrote for the CLI. */
    String token() {
        try {
            for (String line : Files.readAllLines(dir.resolve("credentials"))) {
                String[] words = line.strip().split("\\s+");
                if (words.length == 2 && words[0].equals("default")) return words[1];
            }
        } catch (IOException e) {
            throw new IllegalStateException(name + " wrote no credentials file yet", e);
        }
        throw new IllegalStateException(name + "'s credentials file has no default token");
    }

    /** Waits until /q/health/ready says UP (Kafka connected, an invoker takes calls). */
    void awaitReady(Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        HttpClient client = HttpClient.newHttpClient();
        while (true) {
            if (!process.isAlive()) throw new AssertionError(name + " exited during start; log: " + dir.resolve("skiff.log"));
            try {
                HttpResponse<Void> r = client.send(HttpRequest.newBuilder(URI.create(url() + "/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200 && Files.exists(dir.resolve("credentials"))) return;
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) throw new AssertionError(name + " not ready within " + within.toSeconds() + " s; log: " + dir.resolve("skiff.log"));
            Thread.sleep(200);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
