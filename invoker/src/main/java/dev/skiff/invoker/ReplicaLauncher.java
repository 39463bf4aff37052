package dev.skiff.invoker;

import dev.skiff.invoker.http.UnixHttpConnection;
import dev.skiff.sandbox.HostLayer;
import dev.skiff.sandbox.Limits;
import dev.skiff.sandbox.NativeSyscalls;
import dev.skiff.sandbox.RootfsEntry;
import dev.skiff.sandbox.Sandbox;
import dev.skiff.sandbox.SandboxException;
import dev.skiff.sandbox.SandboxRuntime;
import dev.skiff.sandbox.SandboxSpec;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Turns a function deployment into a running, ready replica: builds the sandbox spec (shared
 * host runtime layer, the function's code read-only, the FDK read-only, a socket directory),
 * starts it, pumps its output into the log, and waits until the FDK accepts on its socket.
 */
final class ReplicaLauncher {
    private static final Logger FUNCTION_LOG = Logger.getLogger("skiff.function");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final SandboxRuntime runtime;
    private final Runtimes runtimes;
    private final FunctionImages images;
    private final SkiffConfig config;
    private final FunctionLogs logs;
    private final Path socketsDir;

    ReplicaLauncher(SandboxRuntime runtime, Runtimes runtimes, FunctionImages images, SkiffConfig config, FunctionLogs logs) throws IOException {
        this.runtime = runtime;
        this.runtimes = runtimes;
        this.images = images;
        this.config = config;
        this.logs = logs;
        this.socketsDir = config.stateDir().resolve("sockets");
        Files.createDirectories(socketsDir);
    }

    Replica start(FunctionDeployment d) throws InvocationException {
        String id = d.name() + "-" + HexFormat.of().formatHex(randomBytes());
        FunctionImages.Launch image = null;
        if (d.config().fromImage()) {
            try {
                image = images.forDeployment(d);
            } catch (InvalidFunctionException e) {
                throw new InvocationException(503, e.error(), "could not start " + d.name() + ": " + e.getMessage());
            }
        }
        Path socketDir = socketsDir.resolve(id);
        Sandbox sandbox;
        try {
            Files.createDirectory(socketDir);
            SandboxSpec.Builder spec = image != null ? imageSpec(id, d, image) : runtimeSpec(id, d, runtimes.get(d.config().runtime()));
            SandboxSpec built = common(spec, d, socketDir).build();
            NativeSyscalls.INSTANCE.chown(socketDir, built.uid(), built.gid());
            sandbox = runtime.start(built);
        } catch (IOException | SandboxException | IllegalArgumentException e) {
            deleteQuietly(socketDir);
            throw new InvocationException(503, "sandbox_failed", "could not start a sandbox for " + d.name() + ": " + e.getMessage());
        }
        OutputTail output = new OutputTail(30);
        Replica replica = new Replica(id, d, sandbox, socketDir, output);
        pump(sandbox.stdout(), replica, false);
        pump(sandbox.stderr(), replica, true);
        try {
            awaitReady(replica, config.startTimeout());
        } catch (InvocationException e) {
            replica.stop();
            throw e;
        }
        return replica;
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[4];
        RANDOM.nextBytes(b);
        return b;
    }

    /** A language runtime: the host's /usr as the shared layer, the code at /code, the FDK at /skiff/fdk. */
    private SandboxSpec.Builder runtimeSpec(String id, FunctionDeployment d, Runtimes.Runtime rt) throws IOException {
        List<RootfsEntry> rootfs = new ArrayList<>(HostLayer.of(HostLayer.SYSTEM_DIRS));
        rootfs.addAll(HostLayer.minimalEtc(config.sandboxUid(), config.sandboxGid(), "fn"));
        rootfs.add(new RootfsEntry.Tmpfs("/tmp", tmpBytes(d), "1777"));
        rootfs.add(RootfsEntry.readOnly(d.codeDir(), Runtimes.CODE_DIR));
        rootfs.add(RootfsEntry.readOnly(runtimes.fdkDir(rt), Runtimes.FDK_DIR));
        return SandboxSpec.builder(id)
                .addAll(rootfs)
                .user(config.sandboxUid(), config.sandboxGid())
                .command(rt.command())
                .env(d.config().env())
                .env(rt.env())
                .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                .env("HOME", "/tmp")
                .env("LANG", "C.UTF-8")
                .env("FN_CODE_DIR", Runtimes.CODE_DIR)
                .env("FN_HANDLER", d.config().handler())
                .cwd(Runtimes.CODE_DIR);
    }

    /**
     * An OCI image: its unpacked rootfs (shared, read-only) is the root, with tmpfs on /tmp and
     * /run (ImageStore makes sure both exist); its Env under func.yaml's env; its WorkingDir; its
     * User unless that is root; its Entrypoint + Cmd unless func.yaml gives a command.
     */
    private SandboxSpec.Builder imageSpec(String id, FunctionDeployment d, FunctionImages.Launch launch) {
        SandboxSpec.Builder b = SandboxSpec.builder(id)
                .add(launch.image().rootEntry())
                .add(new RootfsEntry.Tmpfs("/tmp", tmpBytes(d), "1777"))
                .add(new RootfsEntry.Tmpfs("/run", 1 << 20, "755"))
                .user(launch.uid(), launch.gid())
                .command(launch.command())
                .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                .env("HOME", "/tmp")
                .env(launch.image().config().envMap())
                .env(d.config().env());
        String cwd = launch.image().config().workingDir();
        return b.cwd(cwd == null ? "/" : cwd);
    }

    /** What every replica has: the socket directory, FN_LISTENER and FN_NAME, the hostname, limits and network. */
    private static SandboxSpec.Builder common(SandboxSpec.Builder b, FunctionDeployment d, Path socketDir) {
        return b.add(RootfsEntry.writable(socketDir, Runtimes.SOCKET_DIR))
                .hostname(d.name())
                .env("FN_LISTENER", Runtimes.SOCKET)
                .env("FN_NAME", d.name())
                .network(d.config().outboundNetwork() ? SandboxSpec.Network.OUTBOUND : SandboxSpec.Network.NONE)
                .limits(new Limits(d.config().memoryBytes(), d.config().pids(), d.config().cpuMillis(), d.config().cpuWeight()));
    }

    private static long tmpBytes(FunctionDeployment d) {
        return Math.min(d.config().memoryBytes() / 2, 64L << 20);
    }

    /** Ready means the function's FDK accepts on its socket, not merely that a process exists. */
    private void awaitReady(Replica r, Duration timeout) throws InvocationException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 1;
        while (true) {
            if (r.sandbox.onExit().isDone()) {
                Sandbox.Exit exit = r.sandbox.onExit().join();
                waitForOutput(r);
                throw new InvocationException(503, "function_failed_to_start",
                        "function " + r.deployment.name() + " failed to start: it " + exit.describe() + tail(r));
            }
            if (Files.exists(r.socket)) {
                try {
                    r.giveBack(UnixHttpConnection.open(r.socket));
                    return;
                } catch (IOException notYet) {
                    // bound but not yet listening
                }
            }
            if (System.nanoTime() > deadline) {
                throw new InvocationException(503, "function_start_timeout",
                        "function " + r.deployment.name() + " did not become ready within " + timeout.toSeconds() + "s" + tail(r));
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InvocationException(503, "interrupted", "interrupted while starting " + r.deployment.name());
            }
            pause = 1; // readiness is seen at most ~1 ms late (doubling up to 10 ms cost ~5 ms per cold start)
        }
    }

    static String tail(Replica r) {
        String t = r.output.joined();
        return t.isEmpty() ? "" : "; its last output:\n" + t;
    }

    /** Gives the output pumps a moment to collect the last lines of a process that just died. */
    static void waitForOutput(Replica r) {
        try {
            TimeUnit.MILLISECONDS.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * One platform thread per stream: a blocking pipe read would pin a virtual thread's carrier,
     * and with two carriers on a 2-core node two quiet replicas would starve every call.
     */
    private void pump(InputStream in, Replica replica, boolean stderr) {
        String function = replica.deployment.name();
        String stream = stderr ? "stderr" : "stdout";
        Thread.ofPlatform().daemon().stackSize(256 * 1024).name("output-" + replica.id + "-" + stream).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    replica.output.add(line);
                    logs.append(new FunctionLogs.Line(java.time.Instant.now(), function, replica.id, stream, replica.currentCallId, line));
                    FUNCTION_LOG.infof("[%s %s] %s%s", function, replica.id, stderr ? "stderr: " : "", line);
                }
            } catch (IOException closed) {
                // the sandbox is gone
            }
        });
    }

    static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // nothing to delete
        }
    }
}
