package dev.skiff.bench;

import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InProcessInvoker;
import dev.skiff.sandbox.HostLayer;
import dev.skiff.sandbox.Limits;
import dev.skiff.sandbox.NativeSyscalls;
import dev.skiff.sandbox.RootfsEntry;
import dev.skiff.sandbox.Sandbox;
import dev.skiff.sandbox.SandboxRuntime;
import dev.skiff.sandbox.SandboxSpec;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Invoker benchmark against a running Skiff (bench/invoker.sh starts one of its own): the warm
 * path through Skiff against the same FDK called directly on its unix socket, the cold start of
 * a function against the bare interpreter start, and a burst of first calls against maxScale.
 * {@code --help} lists the options.
 */
public final class InvokerBench {
    static final int UID = 65534;
    static final String ECHO = "def handle(event, context):\n    return event.body\n";
    static final String SLEEPER = "import time\n\n\ndef handle(event, context):\n    time.sleep(%s)\n    return \"ok\"\n";

    // ---- options ----
    String gateway;
    long serverPid;
    Path stateDir = Path.of("/run/skiff-bench4");
    String cgroupName = "skiff-bench4";
    Path dataDir;
    Path workDir;
    List<Integer> clients = List.of(1, 16, 64);
    double seconds = 10;
    int rounds = 5;
    double warmupSeconds = 5;
    int windowWarmupMillis = 500;
    int bodyBytes = 64;
    boolean inProcess = true;
    boolean relayFloor = true;
    int maxWarmupRounds = 6;
    double noisyPercent = 15;
    int retries = 3;
    double lastOther;
    int retried, noisyKept, windows;
    int echoConcurrency = 64;
    int echoMaxScale = 1;
    int coldRuns = 50;
    int coldWarmup = 3;
    int coldGapMillis = 100;
    int burst = 200;
    int burstMaxScale = 20;
    int burstSleepMillis = 50;
    List<String> sections = List.of("warm", "cold", "burst");
    int waitQuietSeconds = 120;
    String repro = "bench/invoker.sh";

    // ---- state ----
    final PrintStream out = System.out;
    final List<String> summary = new ArrayList<>();
    final List<String> problems = new ArrayList<>();
    final List<String> findings = new ArrayList<>();
    SkiffUnderTest skiff;
    InetSocketAddress gatewayAddress;
    Path fdk;
    Path fnDir;
    CgroupLayout serverCgroups;
    String hostLine;
    int seq;

    public static void main(String[] args) throws Exception {
        InvokerBench b = new InvokerBench();
        b.parse(args);
        System.exit(b.run());
    }

    static final String USAGE = """
            usage: InvokerBench --gateway URL --server-pid PID --work DIR [options]
              --gateway URL          the Skiff to measure (e.g. http://127.0.0.1:18080)
              --server-pid PID       its JVM (CPU accounting, cgroup location)
              --state-dir DIR        its skiff.state-dir (default /run/skiff-bench4): replica sockets are found there
              --cgroup-name NAME     its skiff.cgroup-name (default skiff-bench4): sandbox cgroups are counted there
              --data-dir DIR         its skiff.data-dir: to check that the direct FDK is the very file Skiff runs
              --work DIR             scratch: function folders, the direct FDK's socket, this benchmark's own sandboxes
              --sections LIST        warm,cold,burst (default all three)
              warm path:
              --clients LIST         concurrent clients (default 1,16,64)
              --seconds S            measured seconds per target and client count (default 10)
              --rounds N             the seconds are split into N windows, targets interleaved (default 5)
              --warmup-seconds S     unmeasured calls per target and warm-up round (default 5); rounds repeat until the
                                     JIT compilers use under 1% of a CPU (at most --warmup-rounds, default 6)
              --window-warmup-ms MS  unmeasured calls at the start of each window (default 500)
              --body-bytes N         request body the echo function returns (default 64)
              --echo CxS             echo's concurrency x maxScale (default 64x1: one replica serving 64 calls)
              --in-process B         also call Skiff's invoker in this JVM, without the gateway (default true)
              --relay B              also measure a minimal TCP->unix relay in this JVM, the floor for a gateway (default true)
              cold start:
              --cold-runs N          measured cold starts (default 50)   --cold-warmup N (default 3)
              --cold-gap-ms MS       pause before each timed start (default 100)
              burst:
              --burst N              concurrent first calls (default 200)
              --burst-max-scale N    the function's maxScale (default 20)
              --burst-sleep-ms MS    how long each call sleeps in the handler (default 50)
              --noisy-percent P      a window during which other work took over P% of the CPUs is measured again (default 15)
              --retries N            at most N times (default 3); then it is kept and counted as noisy
              --wait-quiet S         before each section wait up to S s (default 120) until other work uses < 10% CPU
              --repro TEXT           the command to print as "reproduce" """;

    void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println(USAGE);
                System.exit(0);
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException(a + " needs a value");
            String v = args[++i];
            switch (a) {
                case "--gateway" -> gateway = v.replaceAll("/+$", "");
                case "--server-pid" -> serverPid = Long.parseLong(v);
                case "--state-dir" -> stateDir = Path.of(v);
                case "--cgroup-name" -> cgroupName = v;
                case "--data-dir" -> dataDir = Path.of(v);
                case "--work" -> workDir = Path.of(v).toAbsolutePath();
                case "--sections" -> sections = List.of(v.split(","));
                case "--clients" -> clients = Arrays.stream(v.split(",")).map(Integer::parseInt).toList();
                case "--seconds" -> seconds = Double.parseDouble(v);
                case "--rounds" -> rounds = Integer.parseInt(v);
                case "--warmup-seconds" -> warmupSeconds = Double.parseDouble(v);
                case "--warmup-rounds" -> maxWarmupRounds = Integer.parseInt(v);
                case "--window-warmup-ms" -> windowWarmupMillis = Integer.parseInt(v);
                case "--body-bytes" -> bodyBytes = Integer.parseInt(v);
                case "--in-process" -> inProcess = Boolean.parseBoolean(v);
                case "--relay" -> relayFloor = Boolean.parseBoolean(v);
                case "--noisy-percent" -> noisyPercent = Double.parseDouble(v);
                case "--retries" -> retries = Integer.parseInt(v);
                case "--echo" -> {
                    String[] cs = v.toLowerCase(Locale.ROOT).split("x");
                    echoConcurrency = Integer.parseInt(cs[0]);
                    echoMaxScale = Integer.parseInt(cs[1]);
                }
                case "--cold-runs" -> coldRuns = Integer.parseInt(v);
                case "--cold-warmup" -> coldWarmup = Integer.parseInt(v);
                case "--cold-gap-ms" -> coldGapMillis = Integer.parseInt(v);
                case "--burst" -> burst = Integer.parseInt(v);
                case "--burst-max-scale" -> burstMaxScale = Integer.parseInt(v);
                case "--burst-sleep-ms" -> burstSleepMillis = Integer.parseInt(v);
                case "--wait-quiet" -> waitQuietSeconds = Integer.parseInt(v);
                case "--repro" -> repro = v;
                default -> throw new IllegalArgumentException("unknown option " + a + " (see --help)");
            }
        }
        if (gateway == null || serverPid == 0 || workDir == null) throw new IllegalArgumentException("--gateway, --server-pid and --work are required (see --help)");
        for (String s : sections) {
            if (!List.of("warm", "cold", "burst").contains(s)) throw new IllegalArgumentException("unknown section " + s + "; known: warm, cold, burst");
        }
    }

    int run() throws Exception {
        skiff = new SkiffUnderTest(gateway, serverPid);
        gatewayAddress = skiff.address;
        serverCgroups = CgroupLayout.of(cgroupName, Long.toString(serverPid));
        prepareWork();
        printHost();
        try {
            if (sections.contains("warm")) warm();
            if (sections.contains("cold")) cold();
            if (sections.contains("burst")) burst();
            metricsAtEnd();
        } catch (Exception e) {
            problems.add("the benchmark failed: " + e);
            e.printStackTrace();
        }
        printSummary();
        return problems.isEmpty() ? 0 : 1;
    }

    // ------------------------------------------------------------------ preparation

    void prepareWork() throws IOException {
        SandboxStartBench.deleteTree(workDir);
        Files.createDirectories(workDir);
        Path fdkDir = workDir.resolve("fdk");
        Files.createDirectories(fdkDir);
        fdk = fdkDir.resolve("fdk.py");
        try (InputStream in = InvokerBench.class.getResourceAsStream("/skiff/runtimes/python/fdk.py")) {
            if (in == null) throw new IOException("fdk.py is not on the class path (function-templates jar)");
            Files.copy(in, fdk);
        }
        fnDir = workDir.resolve("functions");
        function("echo", ECHO, "concurrency: " + echoConcurrency, "maxScale: " + echoMaxScale, "pids: " + echoPids());
        function("cold", ECHO);
        function("burst", String.format(Locale.ROOT, SLEEPER, burstSleepMillis / 1000.0), "concurrency: 1", "maxScale: " + burstMaxScale);
    }

    /**
     * pids for echo: the FDK serves each connection on its own thread, and the invoker keeps up to
     * `concurrency` connections open (the replica-socket target adds as many again). With the
     * default of 64, concurrency 64 runs out of threads: the FDK resets a connection, the call
     * gets a 502 after the invoker waited 2 s for the replica to exit, and the replica is stopped.
     */
    int echoPids() {
        return Math.max(64, 2 * echoConcurrency + 16);
    }

    Path function(String name, String handler, String... yaml) throws IOException {
        return SkiffUnderTest.writeFunction(fnDir, name, handler, yaml);
    }

    /** The environment the invoker gives a replica (ReplicaLauncher.spec, Runtimes), with host paths. */
    static Map<String, String> fdkEnv(String listener, String codeDir, String name) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PYTHONDONTWRITEBYTECODE", "1");
        env.put("PYTHONUNBUFFERED", "1");
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", "/tmp");
        env.put("LANG", "C.UTF-8");
        env.put("FN_LISTENER", listener);
        env.put("FN_CODE_DIR", codeDir);
        env.put("FN_HANDLER", "handler.handle");
        env.put("FN_NAME", name);
        return env;
    }

    /** The FDK outside any sandbox: {@code python3 -u -B fdk.py} with the invoker's environment. */
    Process startHostFdk(String name, Path socket) throws IOException {
        Path code = fnDir.resolve(name);
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/python3", "-u", "-B", fdk.toString())
                .directory(code.toFile())
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().clear();
        pb.environment().putAll(fdkEnv(socket.toString(), code.toString(), name));
        return pb.start();
    }

    /** Connects to the socket every 0.1 ms until it accepts; the connection is returned open. */
    static HttpLoad.Connection awaitAccept(Path socket, BooleanSupplier died, String what) throws Exception {
        UnixDomainSocketAddress addr = UnixDomainSocketAddress.of(socket);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return HttpLoad.Connection.open(addr);
            } catch (IOException notYet) {
                // not bound or not listening yet
            }
            if (died.getAsBoolean()) throw new IllegalStateException(what + " died before listening on " + socket);
            if (System.nanoTime() > deadline) throw new IllegalStateException(what + " not listening after 30 s on " + socket);
            LockSupport.parkNanos(100_000);
        }
    }

    /**
     * The readiness check of ReplicaLauncher.awaitReady, copied: socket file exists, then a connect;
     * between tries a sleep of 1 ms doubling up to 10 ms.
     */
    static HttpLoad.Connection awaitAcceptLikeInvoker(Path socket, BooleanSupplier died) throws Exception {
        UnixDomainSocketAddress addr = UnixDomainSocketAddress.of(socket);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            if (died.getAsBoolean()) throw new IllegalStateException("the sandboxed FDK died before listening on " + socket);
            if (Files.exists(socket)) {
                try {
                    return HttpLoad.Connection.open(addr);
                } catch (IOException notYet) {
                    // bound but not yet listening
                }
            }
            if (System.nanoTime() > deadline) throw new IllegalStateException("not listening after 30 s on " + socket);
            Thread.sleep(1); // as ReplicaLauncher.awaitReady: a 1 ms poll
        }
    }

    // ------------------------------------------------------------------ management API

    /** Deploys the function folder {@code name} of this benchmark. */
    void deploy(String name, boolean warm) throws Exception {
        skiff.deploy(fnDir.resolve(name), warm);
    }

    // ------------------------------------------------------------------ 1: warm path

    /** One thing the load generator calls, with the processes whose CPU it accounts. */
    record WarmTarget(String key, String label, HttpLoad.Target target) {}

    /** What one target did at one client count, summed over the windows. */
    static final class WarmStats {
        final Series latency;
        long measuredNanos, errors, allCalls, clientTicks, jvmTicks, fnTicks;
        /** The Skiff JVM's CPU by thread group, for the target that goes through Skiff. */
        final Map<String, Long> jvmByThread = new TreeMap<>();
        String firstError;

        WarmStats(String name) {
            latency = new Series(name);
        }

        double throughput() {
            return latency.count() / (measuredNanos / 1e9);
        }

        String cpuPerCall(long ticks) {
            return allCalls == 0 ? "-" : String.format(Locale.ROOT, "%.0f", ticks * ProcCpu.TICK_NANOS / 1000.0 / allCalls);
        }
    }

    void warm() throws Exception {
        String config = "concurrency " + echoConcurrency + ", maxScale " + echoMaxScale + ", pids " + echoPids();
        heading("1. warm path: echo (" + bodyBytes + "-byte body) through Skiff vs the same FDK on its unix socket (" + config + ")");
        deploy("echo", true);
        byte[] body = new byte[bodyBytes];
        new Random(7).nextBytes(body);
        for (int i = 0; i < body.length; i++) body[i] = (byte) ('a' + (body[i] & 0xff) % 26);

        Path directSock = workDir.resolve("direct.sock");
        Process direct = startHostFdk("echo", directSock);
        awaitAccept(directSock, () -> !direct.isAlive(), "the direct FDK").close();
        checkSameFdk();

        List<WarmTarget> targets = new ArrayList<>();
        targets.add(new WarmTarget("direct", "direct: FDK on its unix socket, no sandbox",
                HttpLoad.Target.unix("direct", directSock, "/", body)));
        Path replicaSocket = replicaSocket("echo");
        if (replicaSocket != null) {
            targets.add(new WarmTarget("replica", "Skiff's replica: its unix socket, called directly",
                    HttpLoad.Target.unix("replica", replicaSocket, "/", body)));
        }
        Relay relay = null;
        if (relayFloor && replicaSocket != null) {
            relay = new Relay(replicaSocket);
            targets.add(new WarmTarget("relay", "relay floor: minimal TCP->unix relay in this JVM",
                    HttpLoad.Target.tcp("relay", relay.address(), "/fn/echo", body)));
        }
        InProcessInvoker inproc = null;
        if (inProcess) {
            inproc = new InProcessInvoker(stateDir.resolve("inproc"), workDir.resolve("inproc-data"), cgroupName + "-inproc");
            FunctionDeployment d = InProcessInvoker.deployment(fnDir.resolve("echo"));
            inproc.warmUp(d);
            InProcessInvoker ip = inproc;
            targets.add(new WarmTarget("invoker", "invoker in-process: LocalInvoker.invoke, no gateway",
                    HttpLoad.Target.custom("invoker", body.length, () -> inProcessCaller(ip, d, body, false))));
            targets.add(new WarmTarget("invoker-vt", "  same, each call on a new virtual thread",
                    HttpLoad.Target.custom("invoker-vt", body.length, () -> inProcessCaller(ip, d, body, true))));
        }
        targets.add(new WarmTarget("skiff", "Skiff: /fn/echo over TCP (gateway, invoker, socket)",
                HttpLoad.Target.tcp("skiff", gatewayAddress, "/fn/echo", body)));
        out.println("  the configuration a user picks for a light, I/O-free handler that should use one Python process fully: "
                + config + (echoMaxScale == 1 ? " (one replica, the same shape as the single direct FDK process)" : ""));
        out.println("  direct FDK: python3 -u -B " + fdk + " with the invoker's environment, pid " + direct.pid());
        if (replicaSocket != null) out.println("  Skiff's replica socket: " + replicaSocket + " (same FDK, inside the sandbox; no gateway or invoker)");
        if (relay != null) out.println("  relay floor: a thread per client connection relaying bytes from TCP to Skiff's replica socket, "
                + "nothing parsed beyond Content-Length: what one extra hop through a JVM costs here, the floor for any gateway");
        if (inproc != null) out.println("  invoker in-process: Skiff's LocalInvoker in this JVM (own sandbox of echo, cgroup " + cgroupName
                + "-inproc), called from the load threads, or from a new virtual thread per call the way the gateway hands calls over;"
                + " its CPU counts as the client's");
        out.println("  load: closed loop, one keep-alive HTTP/1.1 connection per client (the same Java client over unix and TCP)");
        out.printf(Locale.ROOT, "  per client count: %.0f s measured per target in %d windows of %.1f s (each after %d ms unmeasured), targets interleaved%n",
                seconds, rounds, seconds / rounds, windowWarmupMillis);

        waitQuiet();
        // Warm-up rounds (every target, 16 clients) until the JIT compilers of Skiff's JVM and of
        // this one (relay, in-process invoker) are done: under 1% of a CPU during a round.
        long selfPid = ProcessHandle.current().pid();
        int step = 0;
        long jit;
        double roundSeconds = warmupSeconds * targets.size();
        do {
            step++;
            long j0 = ProcCpu.byThreadGroup(serverPid).getOrDefault("JIT compiler", 0L) + ProcCpu.byThreadGroup(selfPid).getOrDefault("JIT compiler", 0L);
            for (WarmTarget t : targets) {
                progress("  warm-up round %d: %s", step, t.key());
                HttpLoad.Window w = HttpLoad.run(t.target(), 16, 0, (long) (warmupSeconds * 1e9));
                if (w.errors() > 0) throw new IllegalStateException(t.label() + " failed during warm-up: " + w.firstError());
            }
            jit = ProcCpu.byThreadGroup(serverPid).getOrDefault("JIT compiler", 0L) + ProcCpu.byThreadGroup(selfPid).getOrDefault("JIT compiler", 0L) - j0;
        } while (jit * ProcCpu.TICK_NANOS / 1e9 > 0.01 * roundSeconds && step < maxWarmupRounds);
        progressDone();
        out.printf(Locale.ROOT, "  warm-up: %d round(s) of %.0f s per target at 16 clients; JIT compilers used %.2f s of CPU in the last one%n",
                step, warmupSeconds, jit * ProcCpu.TICK_NANOS / 1e9);

        Map<Integer, Map<String, WarmStats>> results = new TreeMap<>();
        Random order = new Random(42);
        for (int c : clients) {
            waitQuiet();
            Map<String, WarmStats> byKey = new LinkedHashMap<>();
            for (WarmTarget t : targets) byKey.put(t.key(), new WarmStats(t.label()));
            CpuMeter cpu = CpuMeter.start(skiff::ourTicks);
            for (int r = 0; r < rounds; r++) {
                List<WarmTarget> round = new ArrayList<>(targets);
                Collections.shuffle(round, order);
                for (WarmTarget t : round) {
                    // A window during which other work on the machine took more than --noisy-percent
                    // of the CPUs is measured again (up to --retries times); the last one counts.
                    HttpLoad.Window w;
                    long dc, dj, df;
                    Map<String, Long> dg;
                    double other;
                    int attempt = 0;
                    while (true) {
                        progress("  %d client(s): window %d/%d, %s%s", c, r + 1, rounds, t.key(), attempt == 0 ? "" : " (again: other work took " + Math.round(lastOther) + "%)");
                        CpuMeter m = CpuMeter.start(skiff::ourTicks);
                        long c0 = ProcCpu.ticks(ProcessHandle.current().pid()), j0 = ProcCpu.ticks(serverPid), f0 = fnTicks(t.key(), direct.pid());
                        Map<String, Long> g0 = ProcCpu.byThreadGroup(serverPid);
                        w = HttpLoad.run(t.target(), c, windowWarmupMillis * 1_000_000L, (long) (seconds / rounds * 1e9));
                        Map<String, Long> g1 = ProcCpu.byThreadGroup(serverPid);
                        dg = new TreeMap<>();
                        for (var e : g1.entrySet()) dg.put(e.getKey(), e.getValue() - g0.getOrDefault(e.getKey(), 0L));
                        dc = ProcCpu.ticks(ProcessHandle.current().pid()) - c0;
                        dj = ProcCpu.ticks(serverPid) - j0;
                        df = fnTicks(t.key(), direct.pid()) - f0;
                        other = lastOther = m.otherPercent();
                        if (other <= noisyPercent || attempt >= retries) break;
                        attempt++;
                        retried++;
                    }
                    if (other > noisyPercent) noisyKept++;
                    windows++;
                    WarmStats s = byKey.get(t.key());
                    s.clientTicks += dc;
                    s.jvmTicks += dj;
                    for (var e : dg.entrySet()) s.jvmByThread.merge(e.getKey(), e.getValue(), Long::sum);
                    s.fnTicks += df;
                    s.allCalls += w.allCalls();
                    for (long l : w.latencies()) s.latency.add(l);
                    s.measuredNanos += w.measuredNanos();
                    s.errors += w.errors();
                    if (s.firstError == null) s.firstError = w.firstError();
                }
            }
            progressDone();
            results.put(c, byKey);
            printWarm(c, byKey, cpu.report());
            out.printf(Locale.ROOT, "  windows measured again because other work took over %.0f%% of the CPUs: %d so far; kept although noisy: %d of %d%n",
                    noisyPercent, retried, noisyKept, windows);
        }
        direct.destroy();
        direct.waitFor(5, TimeUnit.SECONDS);
        direct.destroyForcibly();
        if (inproc != null) inproc.close();
        if (relay != null) relay.close();
        summarizeWarm(results, config);
    }

    static HttpLoad.Caller inProcessCaller(InProcessInvoker invoker, FunctionDeployment d, byte[] body, boolean virtualThread) {
        int[] length = new int[1];
        return new HttpLoad.Caller() {
            @Override
            public int call() throws Exception {
                if (!virtualThread) return invoker.call(d, body, length);
                int[] status = new int[1];
                Exception[] failure = new Exception[1];
                Thread t = Thread.ofVirtual().start(() -> {
                    try {
                        status[0] = invoker.call(d, body, length);
                    } catch (Exception e) {
                        failure[0] = e;
                    }
                });
                t.join();
                if (failure[0] != null) throw failure[0];
                return status[0];
            }

            @Override public int bodyLength() { return length[0]; }
            @Override public String bodyText() { return length[0] + " bytes"; }
            @Override public void close() {}
        };
    }

    /**
     * CPU of the function's processes: the direct FDK; every process in the in-process invoker's
     * sandboxes (this JVM's other children); or every process in Skiff's sandboxes.
     */
    long fnTicks(String key, long directPid) {
        if (key.equals("direct")) return ProcCpu.ticks(directPid);
        long root = key.startsWith("invoker") ? ProcessHandle.current().pid() : serverPid;
        long sum = 0;
        for (long p : ProcCpu.tree(root)) if (p != root && p != directPid) sum += ProcCpu.ticksWithReaped(p);
        return sum;
    }

    Path replicaSocket(String name) throws IOException {
        Path dir = stateDir.resolve("sockets");
        List<Path> found = new ArrayList<>();
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) if (p.getFileName().toString().startsWith(name + "-") && Files.exists(p.resolve("fn.sock"))) found.add(p.resolve("fn.sock"));
        }
        if (found.size() == 1) return found.get(0);
        out.println("  (" + found.size() + " replicas of " + name + ": the replica socket is not measured on its own)");
        return null;
    }

    void checkSameFdk() throws Exception {
        if (dataDir == null) return;
        Path served = dataDir.resolve("runtimes/python/fdk.py");
        if (!Files.exists(served)) return;
        boolean same = Arrays.equals(Files.readAllBytes(served), Files.readAllBytes(fdk));
        out.println("  FDK: " + (same ? "byte for byte the file Skiff runs (" + served + "), sha256 " + sha256(fdk).substring(0, 16)
                : "DIFFERS from " + served));
        if (!same) problems.add("the direct FDK differs from the one Skiff runs (" + served + ")");
    }

    static String sha256(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }

    void printWarm(int c, Map<String, WarmStats> byKey, String interference) {
        out.println();
        out.printf("  %d client(s)%n", c);
        out.printf("  %-54s %7s %8s %8s %8s %8s   %s%n", "target", "calls", "req/s", "p50 ms", "p99 ms", "mean", "CPU us/call: client (+relay/in-process invoker), Skiff JVM, function");
        for (WarmStats s : byKey.values()) {
            out.printf(Locale.ROOT, "  %-54s %7d %8.0f %8s %8s %8s   %s, %s, %s%n", s.latency.name(), s.latency.count(), s.throughput(),
                    ms3(s.latency.p(50)), ms3(s.latency.p(99)), ms3(s.latency.mean()), s.cpuPerCall(s.clientTicks), s.cpuPerCall(s.jvmTicks), s.cpuPerCall(s.fnTicks));
            if (s.errors > 0) problems.add(c + " clients, " + s.latency.name() + ": " + s.errors + " failed calls, first: " + s.firstError);
        }
        WarmStats d = byKey.get("direct"), k = byKey.get("skiff"), r = byKey.get("replica"), i = byKey.get("invoker"), v = byKey.get("invoker-vt"),
                f = byKey.get("relay");
        out.printf(Locale.ROOT, "  Skiff - direct: p50 %+.3f ms, p99 %+.3f ms; throughput Skiff/direct %.2f%n",
                k.latency.p(50) - d.latency.p(50), k.latency.p(99) - d.latency.p(99), k.throughput() / d.throughput());
        if (r != null) {
            out.printf(Locale.ROOT, "    sandbox (replica socket - direct):                      p50 %+.3f ms, throughput ratio %.2f%n",
                    r.latency.p(50) - d.latency.p(50), r.throughput() / d.throughput());
        }
        if (r != null && i != null) {
            out.printf(Locale.ROOT, "    invoker (in-process invoker - replica socket):          p50 %+.3f ms, throughput ratio %.2f%n",
                    i.latency.p(50) - r.latency.p(50), i.throughput() / r.throughput());
            out.printf(Locale.ROOT, "    virtual thread hand-off (same, new virtual thread):     p50 %+.3f ms, throughput ratio %.2f%n",
                    v.latency.p(50) - i.latency.p(50), v.throughput() / i.throughput());
            out.printf(Locale.ROOT, "    gateway (Skiff - in-process invoker on a virtual thread): p50 %+.3f ms, throughput ratio %.2f%n",
                    k.latency.p(50) - v.latency.p(50), k.throughput() / v.throughput());
        } else if (r != null) {
            out.printf(Locale.ROOT, "    gateway + invoker (Skiff - replica socket):             p50 %+.3f ms, throughput ratio %.2f%n",
                    k.latency.p(50) - r.latency.p(50), k.throughput() / r.throughput());
        }
        if (f != null) {
            out.printf(Locale.ROOT, "  for scale: one extra hop at its cheapest (relay floor - replica socket): p50 %+.3f ms, throughput ratio %.2f;"
                    + " Skiff above that floor: p50 %+.3f ms, throughput ratio %.2f%n",
                    f.latency.p(50) - r.latency.p(50), f.throughput() / r.throughput(), k.latency.p(50) - f.latency.p(50), k.throughput() / f.throughput());
        }
        out.println("  Skiff JVM CPU per call by thread group: " + byThread(k));
        out.println("  " + interference);
    }

    static String byThread(WarmStats k) {
        StringBuilder b = new StringBuilder();
        k.jvmByThread.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue())).forEach(e -> {
            if (b.length() > 0) b.append(", ");
            b.append(e.getKey()).append(' ').append(k.cpuPerCall(e.getValue())).append(" µs");
        });
        return b.toString();
    }

    void summarizeWarm(Map<Integer, Map<String, WarmStats>> results, String config) {
        summary.add("");
        summary.add("1. Warm path: echo with a " + bodyBytes + "-byte body, " + config + "; closed loop, one keep-alive connection per client, "
                + fmt(seconds) + " s measured per target and client count (" + rounds + " interleaved windows).");
        summary.add("");
        summary.add("| clients | target | req/s | p50 ms | p99 ms | CPU µs/call: client (+ relay / in-process invoker) / Skiff JVM / function |");
        summary.add("| ---: | --- | ---: | ---: | ---: | --- |");
        for (var e : results.entrySet()) {
            for (WarmStats s : e.getValue().values()) {
                summary.add(String.format(Locale.ROOT, "| %d | %s | %.0f | %s | %s | %s / %s / %s |", e.getKey(), s.latency.name(), s.throughput(),
                        ms3(s.latency.p(50)), ms3(s.latency.p(99)), s.cpuPerCall(s.clientTicks), s.cpuPerCall(s.jvmTicks), s.cpuPerCall(s.fnTicks)));
            }
        }
        summary.add("");
        summary.add("| clients | Skiff − direct p50 | Skiff − direct p99 | Skiff/direct req/s | sandbox | invoker | virtual-thread hand-off | gateway | extra hop at its cheapest | Skiff above that |");
        summary.add("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (var e : results.entrySet()) {
            WarmStats d = e.getValue().get("direct"), k = e.getValue().get("skiff"), r = e.getValue().get("replica"),
                    i = e.getValue().get("invoker"), v = e.getValue().get("invoker-vt"), f = e.getValue().get("relay");
            summary.add(String.format(Locale.ROOT, "| %d | %+.3f ms | %+.3f ms | %.2f | %s | %s | %s | %s | %s | %s |", e.getKey(),
                    k.latency.p(50) - d.latency.p(50), k.latency.p(99) - d.latency.p(99), k.throughput() / d.throughput(),
                    part(r, d), part(i, r), part(v, i), i == null ? part(k, r) : part(k, v), part(f, r), part(k, f)));
        }
        summary.add("");
        summary.add("(each part: difference of p50, and ratio of req/s, between two targets: sandbox = replica socket vs direct; "
                + "invoker = in-process invoker vs replica socket; hand-off = in-process invoker on a new virtual thread vs on the load thread; "
                + "gateway = Skiff over HTTP vs in-process invoker on a virtual thread; extra hop at its cheapest = relay floor vs replica socket; "
                + "Skiff above that = Skiff vs relay floor)");
        summary.add("Skiff JVM CPU per call by thread group (over all its calls, warm-up included):");
        summary.add("");
        for (var e : results.entrySet()) summary.add("- " + e.getKey() + " client(s): " + byThread(e.getValue().get("skiff")));
        summary.add("");
        summary.add(String.format(Locale.ROOT, "Windows measured again because other work took over %.0f%% of the CPUs: %d; kept although noisy: %d of %d.",
                noisyPercent, retried, noisyKept, windows));
        summary.add("");
        Map<String, WarmStats> one = results.get(1), many = results.get(64);
        String t1 = one == null ? "not measured (no 1-client run)" : target(one.get("skiff").latency.p(50) - one.get("direct").latency.p(50) <= 0.3,
                String.format(Locale.ROOT, "%+.3f ms", one.get("skiff").latency.p(50) - one.get("direct").latency.p(50)));
        String t64 = many == null ? "not measured (no 64-client run)" : target(many.get("skiff").throughput() / many.get("direct").throughput() >= 0.70,
                String.format(Locale.ROOT, "%.0f%%", 100 * many.get("skiff").throughput() / many.get("direct").throughput()));
        summary.add("Targets: ≤ 0.3 ms added at p50 with 1 client: " + t1 + "; ≥ 70% of direct throughput at 64 clients: " + t64 + ".");
        out.println();
        out.println("  target: <= 0.3 ms added at p50, 1 client ......... " + t1);
        out.println("  target: >= 70% of direct throughput, 64 clients ... " + t64);
    }

    static String part(WarmStats a, WarmStats b) {
        if (a == null || b == null) return "-";
        return String.format(Locale.ROOT, "%+.3f ms, ×%.2f", a.latency.p(50) - b.latency.p(50), a.throughput() / b.throughput());
    }

    static String target(boolean met, String value) {
        return (met ? "MET" : "MISSED") + " (" + value + ")";
    }

    // ------------------------------------------------------------------ 2: cold start

    SandboxRuntime ownRuntime;

    /** The invoker's replica spec (ReplicaLauncher.spec with func.yaml defaults), for this JVM's own sandbox runtime. */
    SandboxSpec replicaSpec(String id, String name, Path socketDir) {
        long memory = 128L << 20;
        List<RootfsEntry> rootfs = new ArrayList<>(HostLayer.of(HostLayer.SYSTEM_DIRS));
        rootfs.addAll(HostLayer.minimalEtc(UID, UID, "fn"));
        rootfs.add(new RootfsEntry.Tmpfs("/tmp", Math.min(memory / 2, 64L << 20), "1777"));
        rootfs.add(RootfsEntry.readOnly(fnDir.resolve(name), "/code"));
        rootfs.add(RootfsEntry.readOnly(fdk.getParent(), "/skiff/fdk"));
        rootfs.add(RootfsEntry.writable(socketDir, "/run/fn"));
        return SandboxSpec.builder(id).addAll(rootfs).hostname(name).user(UID, UID)
                .command("/usr/bin/python3", "-u", "-B", "/skiff/fdk/fdk.py")
                .env(fdkEnv("/run/fn/fn.sock", "/code", name))
                .cwd("/code")
                .network(SandboxSpec.Network.NONE)
                .limits(new Limits(memory, 64, 0, 100))
                .build();
    }

    void cold() throws Exception {
        heading("2. cold start: first call to a function without a replica, " + coldRuns + " runs (" + coldWarmup + " warm-up), interleaved");
        byte[] body = "hello".getBytes(StandardCharsets.US_ASCII);
        HttpLoad.Target coldTarget = HttpLoad.Target.tcp("cold", gatewayAddress, "/fn/cold", body);
        byte[] directRequest = HttpLoad.post("/", "function", body);
        Path scratch = workDir.resolve("cold");
        Files.createDirectories(scratch);
        ownRuntime = SandboxRuntime.open(stateDir.resolve("bench-sandboxes"), cgroupName + "-direct");

        Series host = new Series("interpreter: spawn python3 fdk.py -> socket accepts (no sandbox)");
        Series hostCall = new Series("  same + first call answered");
        Series sandbox = new Series("sandbox: start (invoker's spec) -> socket accepts, polled every 0.1 ms");
        Series sandboxCall = new Series("  same + first call answered");
        Series sandboxBackoff = new Series("  the same start seen the way awaitReady polls (every 1 ms): later by");
        Series skiffCall = new Series("Skiff: first call to /fn/cold -> answered (TCP connect included)");
        Series launcher = new Series("  of which the invoker's cold start (skiff_cold_start_duration)");
        Series second = new Series("  the call right after it (replica warm, new TCP connection)");
        out.println("  Skiff: before each run DELETE /v1/functions/cold and PUT it again with ?warm=false, so the call finds no replica");
        out.println("  interpreter: python3 -u -B fdk.py outside any sandbox, the invoker's environment, connect polled every 0.1 ms");
        out.println("  sandbox: this JVM's own SandboxRuntime (cgroup " + cgroupName + "-direct), the spec ReplicaLauncher builds, no Skiff");
        out.println("  " + coldGapMillis + " ms pause before every timed start (cold starts come now and then, not back to back)");

        List<String> kinds = List.of("host", "sandbox", "skiff");
        if (!sections.contains("warm")) {
            // Skiff's call path compiled, as in a Skiff that serves traffic (the warm section does this otherwise).
            out.println("  warming Skiff's call path first: 16 clients on echo for " + fmt(2 * warmupSeconds) + " s");
            deploy("echo", true);
            HttpLoad.Window w = HttpLoad.run(HttpLoad.Target.tcp("skiff", gatewayAddress, "/fn/echo", body), 16, 0, (long) (2 * warmupSeconds * 1e9));
            if (w.errors() > 0) throw new IllegalStateException("warming up Skiff failed: " + w.firstError());
            skiff.delete("echo");
        }
        Random order = new Random(43);
        waitQuiet();
        CpuMeter cpu = CpuMeter.start(skiff::ourTicks);
        int total = coldWarmup + coldRuns;
        int coldRetried = 0, coldNoisy = 0;
        for (int r = 0, attempt = 0; r < total; ) {
            boolean record = r >= coldWarmup;
            List<String> round = new ArrayList<>(kinds);
            Collections.shuffle(round, order);
            // A round during which other work took over --noisy-percent of the CPUs is run again
            // (up to --retries times), so a neighbour's burst does not land in the percentiles.
            Map<Series, Long> pending = new LinkedHashMap<>();
            CpuMeter roundCpu = CpuMeter.start(skiff::ourTicks);
            for (String kind : round) {
                progress("  run %d/%d: %s%s", r + 1, total, kind, attempt == 0 ? "" : " (again)");
                switch (kind) {
                    case "host" -> {
                        Path sock = scratch.resolve("host-" + (seq++) + ".sock");
                        Thread.sleep(coldGapMillis);
                        long t0 = System.nanoTime();
                        Process p = startHostFdk("cold", sock);
                        try (HttpLoad.Connection c = awaitAccept(sock, () -> !p.isAlive(), "the FDK")) {
                            long t1 = System.nanoTime();
                            int status = c.exchange(directRequest);
                            long t2 = System.nanoTime();
                            if (status != 200) throw new IllegalStateException("direct FDK answered " + status);
                            if (record) {
                                pending.put(host, t1 - t0);
                                pending.put(hostCall, t2 - t0);
                            }
                        } finally {
                            p.destroyForcibly();
                            p.waitFor();
                            Files.deleteIfExists(sock);
                        }
                    }
                    case "sandbox" -> {
                        String id = "cold-" + (seq++);
                        Path socketDir = scratch.resolve(id);
                        Files.createDirectory(socketDir);
                        NativeSyscalls.INSTANCE.chown(socketDir, UID, UID);
                        SandboxSpec spec = replicaSpec(id, "cold", socketDir);
                        Thread.sleep(coldGapMillis);
                        long t0 = System.nanoTime();
                        Sandbox s = ownRuntime.start(spec);
                        // The same start watched at once the invoker's way (paired: its lateness
                        // is measured on the very same start, free of start-to-start variance).
                        long[] invokerWay = new long[1];
                        Thread watcher = Thread.ofPlatform().start(() -> {
                            try (HttpLoad.Connection c = awaitAcceptLikeInvoker(socketDir.resolve("fn.sock"), () -> !s.isAlive())) {
                                invokerWay[0] = System.nanoTime();
                            } catch (Exception e) {
                                invokerWay[0] = -1;
                            }
                        });
                        try (HttpLoad.Connection c = awaitAccept(socketDir.resolve("fn.sock"), () -> !s.isAlive(), "the sandboxed FDK")) {
                            long t1 = System.nanoTime();
                            int status = c.exchange(directRequest);
                            long t2 = System.nanoTime();
                            if (status != 200) throw new IllegalStateException("sandboxed FDK answered " + status);
                            watcher.join();
                            if (record) {
                                pending.put(sandbox, t1 - t0);
                                pending.put(sandboxCall, t2 - t0);
                                if (invokerWay[0] > 0) pending.put(sandboxBackoff, Math.max(0, invokerWay[0] - t1));
                            }
                        } catch (Exception e) {
                            throw new IllegalStateException(e.getMessage() + ": " + SandboxStartBench.stderrOf(s), e);
                        } finally {
                            s.destroy();
                            SandboxStartBench.deleteTree(socketDir);
                        }
                    }
                    default -> {
                        skiff.delete("cold");
                        deploy("cold", false);
                        String m0 = skiff.metricsText();
                        Thread.sleep(coldGapMillis);
                        long t0 = System.nanoTime();
                        int status;
                        try (HttpLoad.Connection c = HttpLoad.Connection.open(coldTarget.address())) {
                            status = c.exchange(coldTarget.request());
                        }
                        long t1 = System.nanoTime();
                        if (status != 200) throw new IllegalStateException("Skiff answered " + status + " to the first call of cold");
                        int again;
                        long t2 = System.nanoTime();
                        try (HttpLoad.Connection c = HttpLoad.Connection.open(coldTarget.address())) {
                            again = c.exchange(coldTarget.request());
                        }
                        long t3 = System.nanoTime();
                        if (again != 200) throw new IllegalStateException("Skiff answered " + again + " to the second call of cold");
                        String m1 = skiff.metricsText();
                        double count = nz(SkiffUnderTest.metric(m1, "skiff_cold_start_duration_seconds_count", "cold")) - nz(SkiffUnderTest.metric(m0, "skiff_cold_start_duration_seconds_count", "cold"));
                        double sum = nz(SkiffUnderTest.metric(m1, "skiff_cold_start_duration_seconds_sum", "cold")) - nz(SkiffUnderTest.metric(m0, "skiff_cold_start_duration_seconds_sum", "cold"));
                        if (count != 1) problems.add("cold run " + r + ": skiff_cold_start_duration_seconds_count grew by " + count + ", not 1");
                        if (record) {
                            pending.put(skiffCall, t1 - t0);
                            pending.put(launcher, Math.round(sum * 1e9));
                            pending.put(second, t3 - t2);
                        }
                    }
                }
            }
            double other = roundCpu.otherPercent();
            if (other > noisyPercent && attempt < retries) {
                attempt++;
                coldRetried++;
                continue;
            }
            if (other > noisyPercent && record) coldNoisy++;
            pending.forEach(Series::add);
            attempt = 0;
            r++;
        }
        progressDone();
        String interference = cpu.report() + String.format(Locale.ROOT, "; rounds run again because other work took over %.0f%% of the CPUs: %d, kept although noisy: %d",
                noisyPercent, coldRetried, coldNoisy);
        skiff.delete("cold");
        ownRuntime.close();

        List<Series> all = List.of(host, hostCall, sandbox, sandboxCall, sandboxBackoff, skiffCall, launcher, second);
        out.printf("  %-70s %5s %8s %8s %8s %8s%n", "what", "runs", "p50 ms", "p99 ms", "mean", "min");
        for (Series s : all) {
            out.printf("  %-70s %5d %8s %8s %8s %8s%n", s.name(), s.count(), Series.ms(s.p(50)), Series.ms(s.p(99)), Series.ms(s.mean()), Series.ms(s.min()));
        }
        out.println("  " + interference);
        double added = skiffCall.p(50) - host.p(50);
        out.println();
        out.printf(Locale.ROOT, "  Skiff cold start - interpreter start (p50): %+.1f ms%n", added);
        out.printf(Locale.ROOT, "    sandbox (sandbox ready - interpreter ready):           %+.1f ms%n", sandbox.p(50) - host.p(50));
        out.printf(Locale.ROOT, "    invoker's cold start - sandbox ready:                  %+.1f ms (awaitReady's polling alone: +%.1f ms p50, +%.1f ms mean)%n",
                launcher.p(50) - sandbox.p(50), sandboxBackoff.p(50), sandboxBackoff.mean());
        out.printf(Locale.ROOT, "    rest of the first call (Skiff - invoker's cold start): %+.1f ms (gateway, TCP connect, first exchange;"
                + " a warm call on a new connection takes %s ms)%n", skiffCall.p(50) - launcher.p(50), ms3(second.p(50)));
        out.printf(Locale.ROOT, "    for scale, the first exchange alone outside Skiff:     %+.1f ms (interpreter: first call - accepts)%n",
                hostCall.p(50) - host.p(50));
        String t = target(added <= 10, String.format(Locale.ROOT, "%+.1f ms", added));
        out.println("  target: Skiff adds <= 10 ms to the interpreter's start ... " + t);

        summary.add("");
        summary.add("2. Cold start, " + coldRuns + " runs each after " + coldWarmup + " warm-up rounds, interleaved, " + coldGapMillis
                + " ms apart; Skiff's function is deleted and redeployed with ?warm=false before each run. " + interference + ".");
        summary.add("");
        summary.add("| what | p50 ms | p99 ms | mean ms |");
        summary.add("| --- | ---: | ---: | ---: |");
        for (Series s : all) summary.add("| " + s.name().trim() + " | " + Series.ms(s.p(50)) + " | " + Series.ms(s.p(99)) + " | " + Series.ms(s.mean()) + " |");
        summary.add("");
        summary.add(String.format(Locale.ROOT, "Skiff cold start − interpreter start (p50): %+.1f ms = sandbox %+.1f + invoker around it %+.1f (awaitReady's polling alone: +%.1f p50, +%.1f mean)"
                + " + gateway/first exchange %+.1f. Target ≤ 10 ms: %s.",
                added, sandbox.p(50) - host.p(50), launcher.p(50) - sandbox.p(50), sandboxBackoff.p(50), sandboxBackoff.mean(), skiffCall.p(50) - launcher.p(50), t));
    }

    static double nz(double v) {
        return Double.isNaN(v) ? 0 : v;
    }

    // ------------------------------------------------------------------ 3: burst

    void burst() throws Exception {
        heading("3. burst: " + burst + " concurrent first calls to a function with maxScale " + burstMaxScale + " (handler sleeps "
                + burstSleepMillis + " ms, concurrency 1)");
        skiff.delete("burst");
        deploy("burst", false);
        String m0 = skiff.metricsText();
        HttpLoad.Target t = HttpLoad.Target.tcp("burst", gatewayAddress, "/fn/burst", "x".getBytes(StandardCharsets.US_ASCII));
        List<HttpLoad.Connection> conns = new ArrayList<>();
        for (int i = 0; i < burst; i++) conns.add(HttpLoad.Connection.open(t.address()));
        waitQuiet();

        // Watch the number of sandboxes (cgroups) while the burst runs.
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger maxCgroups = new AtomicInteger();
        Thread watcher = Thread.ofPlatform().name("burst-watch").start(() -> {
            while (running.get()) {
                maxCgroups.accumulateAndGet(sandboxCgroups("burst"), Math::max);
                LockSupport.parkNanos(1_000_000);
            }
        });

        long[] latency = new long[burst];
        int[] status = new int[burst];
        String[] error = new String[burst];
        CountDownLatch ready = new CountDownLatch(burst);
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < burst; i++) {
            int me = i;
            threads.add(Thread.ofPlatform().name("burst-" + i).start(() -> {
                HttpLoad.Connection c = conns.get(me);
                try {
                    ready.countDown();
                    go.await();
                    long t0 = System.nanoTime();
                    status[me] = c.exchange(t.request());
                    latency[me] = System.nanoTime() - t0;
                    if (status[me] != 200) error[me] = c.bodyText();
                } catch (Exception e) {
                    error[me] = e.toString();
                } finally {
                    c.close();
                }
            }));
        }
        ready.await();
        long start = System.nanoTime();
        go.countDown();
        for (Thread th : threads) th.join();
        long wall = System.nanoTime() - start;
        running.set(false);
        watcher.join();
        int replicas = skiff.replicasOf("burst");
        int cgroupsAfter = sandboxCgroups("burst");
        String m1 = skiff.metricsText();
        double coldStarts = nz(SkiffUnderTest.metric(m1, "skiff_cold_start_duration_seconds_count", "burst")) - nz(SkiffUnderTest.metric(m0, "skiff_cold_start_duration_seconds_count", "burst"));
        double replicaGauge = SkiffUnderTest.metric(m1, "skiff_replicas", "burst");
        double coldSum = nz(SkiffUnderTest.metric(m1, "skiff_cold_start_duration_seconds_sum", "burst")) - nz(SkiffUnderTest.metric(m0, "skiff_cold_start_duration_seconds_sum", "burst"));
        double coldMeanMs = coldStarts == 0 ? Double.NaN : coldSum * 1000 / coldStarts;

        Series lat = new Series("burst call latency");
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int i = 0; i < burst; i++) {
            if (error[i] == null && status[i] == 200) {
                lat.add(latency[i]);
                outcomes.merge("200", 1, Integer::sum);
            } else {
                outcomes.merge(status[i] == 0 ? "error" : Integer.toString(status[i]), 1, Integer::sum);
            }
        }
        int ok = outcomes.getOrDefault("200", 0);
        String firstError = Arrays.stream(error).filter(e -> e != null).findFirst().orElse(null);
        out.printf(Locale.ROOT, "  %d/%d succeeded (%s) in %.0f ms wall%n", ok, burst, outcomes, wall / 1e6);
        if (firstError != null) out.println("  first failure: " + firstError);
        out.printf("  latency: p50 %s ms, p99 %s ms, max %s ms, min %s ms%n", Series.ms(lat.p(50)), Series.ms(lat.p(99)), Series.ms(lat.p(100)), Series.ms(lat.min()));
        out.printf(Locale.ROOT, "  replicas started (skiff_cold_start_duration_seconds_count): %.0f; replicas now (GET /v1/functions/burst): %d; skiff_replicas gauge: %.0f%n",
                coldStarts, replicas, replicaGauge);
        out.printf(Locale.ROOT, "  the %.0f cold starts took %.0f ms each on average (skiff_cold_start_duration_seconds sum/count), all at once on %d CPUs;"
                + " the first answer came after %s ms%n", coldStarts, coldMeanMs, Runtime.getRuntime().availableProcessors(), Series.ms(lat.min()));
        out.printf("  sandbox cgroups under %s: at most %d at once during the burst, %d now%n", serverCgroups.groupDirs().values().iterator().next(),
                maxCgroups.get(), cgroupsAfter);
        double ideal = Math.ceil((double) burst / burstMaxScale) * burstSleepMillis;
        out.printf(Locale.ROOT, "  for scale: %d calls x %d ms over %d replicas need at least %.0f ms plus the cold starts%n", burst, burstSleepMillis, burstMaxScale, ideal);
        boolean allOk = ok == burst;
        boolean bounded = maxCgroups.get() <= burstMaxScale && coldStarts <= burstMaxScale && replicas <= burstMaxScale;
        String verdict = (allOk ? "all " + burst + " succeeded" : "FAILED: " + (burst - ok) + " of " + burst + " calls failed")
                + "; " + (bounded ? "never more than " + burstMaxScale + " replicas" : "MORE THAN " + burstMaxScale + " REPLICAS");
        out.println("  check: " + verdict);
        if (!allOk) problems.add("burst: " + (burst - ok) + " of " + burst + " calls failed " + outcomes + "; first: " + firstError);
        if (!bounded) problems.add("burst: more replicas than maxScale " + burstMaxScale + " (cgroups " + maxCgroups.get() + ", cold starts " + coldStarts + ", replicas " + replicas + ")");

        summary.add("");
        summary.add("3. Burst: " + burst + " concurrent first calls (connections opened beforehand) to a function with maxScale " + burstMaxScale
                + ", concurrency 1, handler sleeping " + burstSleepMillis + " ms, deployed with ?warm=false.");
        summary.add("");
        summary.add(String.format(Locale.ROOT, "%d/%d succeeded %s, wall %.0f ms (ideal ≥ %.0f ms plus cold starts); latency p50 %s ms, p99 %s ms, max %s ms.",
                ok, burst, outcomes, wall / 1e6, ideal, Series.ms(lat.p(50)), Series.ms(lat.p(99)), Series.ms(lat.p(100))));
        summary.add(String.format(Locale.ROOT, "Replicas: %.0f cold starts (skiff_cold_start_duration_seconds_count), GET /v1/functions/burst says %d, skiff_replicas %.0f, "
                + "at most %d sandbox cgroups at once. Check: %s.", coldStarts, replicas, replicaGauge, maxCgroups.get(), verdict));
        summary.add(String.format(Locale.ROOT, "The %.0f cold starts took %.0f ms each on average, all at once; the first answer came after %s ms.",
                coldStarts, coldMeanMs, Series.ms(lat.min())));
    }

    /** Sandbox cgroups of one function in the Skiff under test (directories named "{function}-{hex}"). */
    int sandboxCgroups(String function) {
        Path dir = serverCgroups.groupDirs().values().iterator().next();
        int n = 0;
        for (Path p : Procfs.childDirs(dir)) if (p.getFileName().toString().startsWith(function + "-")) n++;
        return n;
    }

    // ------------------------------------------------------------------ metrics at the end

    void metricsAtEnd() throws Exception {
        heading("/q/metrics of the benchmark functions");
        String text = skiff.metricsText();
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!(line.startsWith("skiff_calls_total{") || line.startsWith("skiff_cold_start_duration_seconds_count{")
                    || line.startsWith("skiff_cold_start_duration_seconds_sum{"))) continue;
            if (line.contains("function=\"echo\"") || line.contains("function=\"cold\"") || line.contains("function=\"burst\"")) lines.add(line);
        }
        Collections.sort(lines);
        lines.forEach(l -> out.println("  " + l));
        summary.add("");
        summary.add("/q/metrics at the end:");
        summary.add("");
        summary.add("```");
        summary.addAll(lines);
        summary.add("```");
    }

    // ------------------------------------------------------------------ printing

    void printHost() {
        hostLine = SkiffUnderTest.hostLine(serverCgroups);
        out.println("Skiff invoker benchmark, " + ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        out.println("host: " + hostLine);
        out.println("Skiff under test: " + gateway + ", pid " + serverPid + ", state " + stateDir + ", sandbox cgroups "
                + serverCgroups.groupDirs().values().stream().distinct().map(Path::toString).toList());
    }

    void printSummary() {
        Report.summary(out, "Invoker benchmark", hostLine, repro, summary, problems);
    }

    void heading(String title) {
        Report.heading(out, title);
    }

    /** Milliseconds with three decimals (sub-millisecond differences matter here). */
    static String ms3(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, v < 100 ? "%.3f" : "%.1f", v);
    }

    static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    void waitQuiet() throws InterruptedException {
        skiff.waitQuiet(out, waitQuietSeconds);
    }

    static void progress(String fmt, Object... args) {
        SkiffUnderTest.progress(fmt, args);
    }

    static void progressDone() {
        SkiffUnderTest.progressDone();
    }
}
