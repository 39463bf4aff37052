package dev.skiff.invoker;

import dev.skiff.invoker.http.HttpMessage;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * Skiff's own invoker ({@link LocalInvoker}, unchanged) inside the benchmark's JVM, without
 * Quarkus, Vert.x or the gateway: calls go straight into {@code invoke()}. Comparing it with a
 * call through Skiff's HTTP gateway splits the warm-path overhead into invoker and gateway.
 * It lives in the invoker's package only to set the two fields CDI would inject and to call the
 * startup/shutdown observers; its sandboxes use their own state directory and cgroup group.
 */
public final class InProcessInvoker implements AutoCloseable {
    private final LocalInvoker invoker = new LocalInvoker();

    public InProcessInvoker(Path stateDir, Path dataDir, String cgroupName) throws Exception {
        invoker.config = new SkiffConfig() {
            @Override public Path dataDir() { return dataDir; }
            @Override public Path stateDir() { return stateDir; }
            @Override public String cgroupName() { return cgroupName; }
            @Override public int sandboxUid() { return 65534; }
            @Override public int sandboxGid() { return 65534; }
            @Override public Duration startTimeout() { return Duration.ofSeconds(30); }
            @Override public Duration queueTimeout() { return Duration.ofSeconds(10); }
            @Override public long maxBodyBytes() { return 6L << 20; }
            @Override public long maxPackageExpandedBytes() { return 256L << 20; }
            @Override public int maxPackageEntries() { return 10_000; }
            @Override public Duration stopGrace() { return Duration.ofSeconds(10); }
            @Override public Duration shutdownDrain() { return Duration.ofSeconds(30); }
            @Override public Duration reapInterval() { return Duration.ofSeconds(1); }
            @Override public boolean autoscalerEnabled() { return false; }
            @Override public Role role() { return Role.ALL; }
            @Override public java.util.Optional<String> advertisedUrl() { return java.util.Optional.empty(); }
            @Override public java.util.Optional<io.quarkus.runtime.configuration.MemorySize> replicaMemory() { return java.util.Optional.empty(); }
            @Override public Duration invokerTimeout() { return Duration.ofSeconds(3); }
            @Override public Auth auth() { return () -> dataDir.resolve("credentials"); }
        };
        // Quarkus serves a Prometheus registry; the meters (and their histograms) are the same.
        invoker.registry = new SimpleMeterRegistry();
        invoker.start(null);
    }

    /** A function folder (func.yaml + code) as the store would hand it to the invoker. */
    public static FunctionDeployment deployment(Path codeDir) throws IOException, InvalidFunctionException {
        return new FunctionDeployment(FunctionConfigParser.parse(Files.readString(codeDir.resolve("func.yaml"))), 1, codeDir);
    }

    public void warmUp(FunctionDeployment d) throws InvocationException {
        invoker.warmUp(d);
    }

    /**
     * One POST with the headers the gateway would pass on (Host, Content-Type, Content-Length,
     * X-Forwarded-*); returns the response status, and the body length through {@code length[0]}.
     */
    public int call(FunctionDeployment d, byte[] body, int[] length) throws InvocationException {
        List<HttpMessage.Header> headers = List.of(
                new HttpMessage.Header("Host", "127.0.0.1"),
                new HttpMessage.Header("Content-Type", "application/octet-stream"),
                new HttpMessage.Header("Content-Length", Integer.toString(body.length)),
                new HttpMessage.Header("X-Forwarded-For", "127.0.0.1"),
                new HttpMessage.Header("X-Forwarded-Proto", "http"),
                new HttpMessage.Header("X-Forwarded-Host", "127.0.0.1"));
        InvocationResponse r = invoker.invoke(d, new InvocationRequest(UUID.randomUUID().toString(), "POST", "/", "", headers, body));
        length[0] = r.body().length;
        return r.status();
    }

    @Override
    public void close() {
        invoker.stop(null);
    }
}
