package dev.skiff.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Skiff the benchmark started for itself (bench/invoker.sh, bench/autoscale.sh): its HTTP
 * management API, its /q/metrics, function folders to deploy, and waiting for a machine that
 * other work leaves alone (the Skiff's JVM, its sandboxes and this JVM count as ours).
 */
final class SkiffUnderTest {
    final String gateway;
    final long pid;
    final InetSocketAddress address;
    private final HttpClient http;
    /** The admin token bench/lib/skiff-under-test.sh exports (read from the credentials file the Skiff's first start wrote). */
    private final String token = System.getenv("SKIFF_TOKEN");

    SkiffUnderTest(String gateway, long pid) {
        this.gateway = gateway.replaceAll("/+$", "");
        this.pid = pid;
        URI u = URI.create(this.gateway);
        address = new InetSocketAddress(u.getHost(), u.getPort());
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    HttpResponse<String> api(String method, String path, HttpRequest.BodyPublisher body, String contentType) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway + path)).timeout(Duration.ofSeconds(60)).method(method, body);
        if (contentType != null) b.header("Content-Type", contentType);
        if (token != null && !token.isBlank() && path.startsWith("/v1/")) b.header("Authorization", "Bearer " + token.strip());
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Writes a function folder {@code fnDir/name} with func.yaml (name, runtime python, then {@code yaml}) and handler.py. */
    static Path writeFunction(Path fnDir, String name, String handler, String... yaml) throws IOException {
        Path d = fnDir.resolve(name);
        Files.createDirectories(d);
        StringBuilder y = new StringBuilder("name: " + name + "\nruntime: python\n");
        for (String line : yaml) y.append(line).append('\n');
        Files.writeString(d.resolve("func.yaml"), y);
        Files.writeString(d.resolve("handler.py"), handler);
        return d;
    }

    /** PUT /v1/functions/{name} with the folder (named like the function) as a gzip'ed tar. */
    void deploy(Path folder, boolean warm) throws Exception {
        String name = folder.getFileName().toString();
        Process tar = new ProcessBuilder("tar", "-C", folder.toString(), "-czf", "-", ".")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] tgz = tar.getInputStream().readAllBytes();
        if (tar.waitFor() != 0) throw new IllegalStateException("tar failed for " + name);
        HttpResponse<String> r = api("PUT", "/v1/functions/" + name + (warm ? "" : "?warm=false"),
                HttpRequest.BodyPublishers.ofByteArray(tgz), "application/gzip");
        if (r.statusCode() / 100 != 2) throw new IllegalStateException("deploy " + name + ": " + r.statusCode() + " " + r.body());
        if (warm && !r.body().contains("\"ready\":true")) throw new IllegalStateException("deploy " + name + " did not get ready: " + r.body());
    }

    void delete(String name) throws Exception {
        HttpResponse<String> r = api("DELETE", "/v1/functions/" + name, HttpRequest.BodyPublishers.noBody(), null);
        if (r.statusCode() != 204 && r.statusCode() != 404) throw new IllegalStateException("delete " + name + ": " + r.statusCode() + " " + r.body());
    }

    int replicasOf(String name) throws Exception {
        HttpResponse<String> r = api("GET", "/v1/functions/" + name, HttpRequest.BodyPublishers.noBody(), null);
        Matcher m = Pattern.compile("\"replicas\":(\\d+)").matcher(r.body());
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    String metricsText() throws Exception {
        return api("GET", "/q/metrics", HttpRequest.BodyPublishers.noBody(), null).body();
    }

    /** One sample of the Prometheus text: {@code metric{labels}} containing function="name", summed (NaN when absent). */
    static double metric(String text, String metric, String function) {
        String tag = "function=\"" + function + "\"";
        double sum = 0;
        boolean found = false;
        for (String line : text.split("\n")) {
            if (!line.startsWith(metric + "{") || !line.contains(tag)) continue;
            sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            found = true;
        }
        return found ? sum : Double.NaN;
    }

    /** This JVM and its children, and the Skiff under test with its sandboxes (and broker), in USER_HZ ticks. */
    long ourTicks() {
        return ProcCpu.treeTicks(ProcessHandle.current().pid()) + ProcCpu.treeTicks(pid);
    }

    /** Waits up to {@code seconds} until other work uses under 10% of the CPUs (a second at a time); says so when it waited. */
    void waitQuiet(PrintStream out, int seconds) throws InterruptedException {
        if (seconds <= 0) return;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long start = System.nanoTime();
        double other;
        do {
            CpuMeter m = CpuMeter.start(this::ourTicks);
            Thread.sleep(1000);
            other = m.otherPercent();
            if (other < 10) {
                long waited = (System.nanoTime() - start) / 1_000_000_000L;
                if (waited > 1) out.printf(Locale.ROOT, "  (waited %d s for other work on the machine to calm down)%n", waited);
                progressDone();
                return;
            }
            progress("  waiting for a quiet machine: other work uses %.0f%% of the CPUs", other);
        } while (System.nanoTime() < deadline);
        progressDone();
        out.printf(Locale.ROOT, "  note: the machine stayed busy with other work (%.0f%% of the CPUs) for %d s; measuring anyway%n", other, seconds);
    }

    /** The machine in one line: kernel, CPUs, RAM, cgroup version, Java, Python, load average. */
    static String hostLine(CgroupLayout cgroups) {
        String cpu = "";
        for (String line : Procfs.read(Path.of("/proc/cpuinfo")).split("\n")) {
            if (line.startsWith("model name")) {
                cpu = line.substring(line.indexOf(':') + 1).trim();
                break;
            }
        }
        return String.format(Locale.ROOT, "Linux %s, %d CPUs (%s), %.1f GiB RAM, cgroup %s, Java %s, python %s; load average at start %s",
                Procfs.read(Path.of("/proc/sys/kernel/osrelease")).trim(), Runtime.getRuntime().availableProcessors(), cpu,
                Procfs.meminfo().getOrDefault("MemTotal", 0L) / 1073741824.0, cgroups.version(), Runtime.version(),
                SandboxStartBench.firstLine("/usr/bin/python3", "--version").replace("Python ", ""), Procfs.loadavg());
    }

    /** A progress line on stderr, overwritten by the next one. */
    static void progress(String fmt, Object... args) {
        System.err.printf("\r" + fmt + "   ", args);
    }

    static void progressDone() {
        System.err.print("\r" + " ".repeat(70) + "\r");
    }
}
