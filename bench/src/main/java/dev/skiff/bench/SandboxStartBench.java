package dev.skiff.bench;

import dev.skiff.sandbox.HostLayer;
import dev.skiff.sandbox.Limits;
import dev.skiff.sandbox.NativeSyscalls;
import dev.skiff.sandbox.RootfsEntry;
import dev.skiff.sandbox.Sandbox;
import dev.skiff.sandbox.SandboxRuntime;
import dev.skiff.sandbox.SandboxSpec;
import dev.skiff.sandbox.StartProfile;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * Sandbox start benchmark: Skiff's sandbox start against runc, bwrap, unshare and a plain exec,
 * all measured in one run of one JVM, plus Python create-to-ready and the memory of many idle
 * sandboxes. Run it through bench/sandbox-start.sh, which installs the baselines, builds, and
 * passes the paths; {@code --help} lists the options.
 */
public final class SandboxStartBench {
    static final String GROUP = "skiff-bench";
    static final int UID = 65534;
    static final String SOCKET_DIR = "/run/fn";
    static final String SOCKET = SOCKET_DIR + "/fn.sock";
    /** "Full isolation and limits": memory (swap off), pids, and a CPU quota of one CPU. */
    static final Limits FULL_LIMITS = new Limits(128L << 20, 64, 1000);
    /** What the invoker gives a Python replica by default (func.yaml defaults). */
    static final Limits PYTHON_LIMITS = new Limits(128L << 20, 64, 0);
    static final String LISTENER_SCRIPT = String.join("\n",
            "import os, signal, socket",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
            "s.bind(os.environ['FN_LISTENER'])",
            "s.listen(16)",
            "signal.pause()");

    // ---- options ----
    int runs = 200;
    int warmup = 20;
    int pythonRuns = 50;
    int pythonWarmup = 5;
    int many = 200;
    String manyProgram = "fdk";
    int profileRuns = 100;
    Path bundle;
    Path probe;
    Path stateDir = Path.of("/var/tmp/skiff-bench/state");
    Path workDir = Path.of("/var/tmp/skiff-bench/work");
    String repro = "bench/sandbox-start.sh";
    Path profileInit;
    int waitQuietSeconds = 120;
    int profileGapMillis = 25;
    /** Which variants section 1 runs (all by default; a subset helps to see how they disturb each other). */
    List<String> variants = List.of("skiff", "skiff-exit", "skiff-unready", "runc", "bwrap", "unshare", "exec");

    // ---- state ----
    SandboxRuntime runtime;
    /** A second runtime that keeps no launcher ready: every start unshares on its own path (a burst). */
    SandboxRuntime unreadyRuntime;
    CgroupLayout layout;
    final PrintStream out = System.out;
    final List<String> summary = new ArrayList<>();
    final List<String> problems = new ArrayList<>();
    int seq;

    public static void main(String[] args) throws Exception {
        SandboxStartBench b = new SandboxStartBench();
        b.parse(args);
        System.exit(b.run());
    }

    void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println("""
                        usage: SandboxStartBench --bundle DIR --probe FILE [options]
                          --bundle DIR        runc bundle whose rootfs has /bin/true (busybox); bwrap uses DIR/rootfs
                          --probe FILE        static clock probe (bench/target/clock-probe)
                          --runs N            measured rounds of the /bin/true start (default 200)
                          --warmup N          unmeasured rounds first (default 20)
                          --python-runs N     measured Python create-to-ready rounds (default 50)
                          --many N            idle Python sandboxes at once (default 200; 0 skips)
                          --many-program P    fdk (the real FDK, as the invoker runs it) or listener (default fdk)
                          --profile-runs N    step-by-step start profile rounds (default 100; 0 skips)
                          --state DIR         sandbox runtime state (default /var/tmp/skiff-bench/state)
                          --work DIR          scratch for sockets, code, FDK (default /var/tmp/skiff-bench/work)
                          --profile-gap-ms MS pause between profiled starts (default 25: sandboxes that start now
                                              and then, not back to back; see the RCU note in the output)
                          --profile-init FILE a skiff-init to profile instead of the runtime's (e.g. built with
                                              timing stamps; its "skiff-init-time STEP NS" lines split init's time)
                          --wait-quiet S      before each section, wait up to S seconds (default 120) until
                                              other work uses under 10% of the CPUs; 0 never waits
                          --variants LIST     section 1 variants to run (default skiff,skiff-exit,skiff-unready,runc,bwrap,unshare,exec)
                          --repro TEXT        the command to print as "reproduce with" """);
                System.exit(0);
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException(a + " needs a value");
            String v = args[++i];
            switch (a) {
                case "--runs" -> runs = Integer.parseInt(v);
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--python-runs" -> pythonRuns = Integer.parseInt(v);
                case "--many" -> many = Integer.parseInt(v);
                case "--many-program" -> manyProgram = v;
                case "--profile-runs" -> profileRuns = Integer.parseInt(v);
                case "--bundle" -> bundle = Path.of(v).toAbsolutePath();
                case "--probe" -> probe = Path.of(v).toAbsolutePath();
                case "--state" -> stateDir = Path.of(v).toAbsolutePath();
                case "--work" -> workDir = Path.of(v).toAbsolutePath();
                case "--repro" -> repro = v;
                case "--profile-init" -> profileInit = Path.of(v).toAbsolutePath();
                case "--wait-quiet" -> waitQuietSeconds = Integer.parseInt(v);
                case "--profile-gap-ms" -> profileGapMillis = Integer.parseInt(v);
                case "--variants" -> variants = List.of(v.split(","));
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (bundle == null || probe == null) throw new IllegalArgumentException("--bundle and --probe are required (see --help)");
        if (!manyProgram.equals("fdk") && !manyProgram.equals("listener")) throw new IllegalArgumentException("--many-program is fdk or listener");
    }

    int run() throws Exception {
        String load = Procfs.loadavg();
        runtime = SandboxRuntime.open(stateDir, GROUP);
        unreadyRuntime = SandboxRuntime.open(stateDir.resolveSibling(stateDir.getFileName() + "-unready"), GROUP + "-unready", 0);
        layout = CgroupLayout.of(GROUP);
        prepareWork();
        printHost(load);

        startToExit();
        unreadyRuntime.close();
        verifyClean("after the /bin/true runs");
        if (pythonRuns > 0) {
            pythonReady();
            verifyClean("after the Python runs");
        }
        if (many > 0) manyIdle();
        if (profileRuns > 0) profile();
        verifyClean("at the end");

        printSummary();
        return problems.isEmpty() ? 0 : 1;
    }

    // ------------------------------------------------------------------ 1 + 2: /bin/true

    void startToExit() throws Exception {
        heading("1+2. start-to-exit of /bin/true: Skiff (warm JVM) vs runc, bwrap, unshare, plain exec");
        Path rootfs = bundle.resolve("rootfs");
        String runcId = "skiff-bench-true";
        quiet("runc", "delete", "-f", runcId);

        Series skiffWhole = new Series("Skiff start -> exit -> destroy");
        Series skiffExit = new Series("Skiff start -> exit (no destroy)");
        Series skiffStart = new Series("  Skiff start() returns (init spawned)");
        Series skiffDestroy = new Series("  Skiff destroy() alone");
        Series skiffUnready = new Series("Skiff start -> exit -> destroy, no launcher ready");
        Series runc = new Series("runc run (busybox bundle)");
        Series bwrap = new Series("bwrap --unshare-all (busybox rootfs)");
        Series unshare = new Series("unshare --fork --pid --mount --uts --ipc --net --mount-proc");
        Series exec = new Series("plain exec of /bin/true");

        ProcessBuilder runcPb = quietBuilder("runc", "run", "--bundle", bundle.toString(), runcId);
        ProcessBuilder bwrapPb = quietBuilder("bwrap", "--unshare-all", "--ro-bind", rootfs.toString(), "/",
                "--proc", "/proc", "--dev", "/dev", "/bin/true");
        ProcessBuilder unsharePb = quietBuilder("unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "--mount-proc", "true");
        ProcessBuilder execPb = quietBuilder("/bin/true");

        Map<String, Trial> byName = new LinkedHashMap<>();
        byName.put("skiff", record -> {
                    SandboxSpec spec = trueSpec(nextId("t"));
                    long t0 = System.nanoTime();
                    Sandbox s = runtime.start(spec);
                    Sandbox.Exit e = s.onExit().get(30, TimeUnit.SECONDS);
                    check(e, s); // before destroy(), which closes the sandbox's stderr
                    s.destroy();
                    long t1 = System.nanoTime();
                    if (record) skiffWhole.add(t1 - t0);
                });
        byName.put("skiff-exit", record -> {
                    SandboxSpec spec = trueSpec(nextId("t"));
                    long t0 = System.nanoTime();
                    Sandbox s = runtime.start(spec);
                    long t1 = System.nanoTime();
                    Sandbox.Exit e = s.onExit().get(30, TimeUnit.SECONDS);
                    long t2 = System.nanoTime();
                    check(e, s);
                    s.destroy();
                    long t3 = System.nanoTime();
                    if (record) {
                        skiffStart.add(t1 - t0);
                        skiffExit.add(t2 - t0);
                        skiffDestroy.add(t3 - t2);
                    }
                });
        byName.put("skiff-unready", record -> {
                    SandboxSpec spec = trueSpec(nextId("u"));
                    long t0 = System.nanoTime();
                    Sandbox s = unreadyRuntime.start(spec);
                    Sandbox.Exit e = s.onExit().get(30, TimeUnit.SECONDS);
                    check(e, s);
                    s.destroy();
                    long t1 = System.nanoTime();
                    if (record) skiffUnready.add(t1 - t0);
                });
        byName.put("runc", record -> timeProcess(runcPb, runc, record));
        byName.put("bwrap", record -> timeProcess(bwrapPb, bwrap, record));
        byName.put("unshare", record -> timeProcess(unsharePb, unshare, record));
        byName.put("exec", record -> timeProcess(execPb, exec, record));
        List<Trial> trials = new ArrayList<>();
        for (String v : variants) {
            Trial t = byName.get(v);
            if (t == null) throw new IllegalArgumentException("unknown variant " + v + "; known: " + byName.keySet());
            trials.add(t);
        }

        // Interleaved rounds in a fresh (seeded) random order each, so that load from elsewhere on
        // the machine, and what the previous trial leaves behind (e.g. the kernel's asynchronous
        // network namespace cleanup), fall on every variant alike.
        int total = warmup + runs;
        waitQuiet();
        CpuMeter cpu = CpuMeter.start();
        Random order = new Random(42);
        for (int r = 0; r < total; r++) {
            List<Trial> round = new ArrayList<>(trials);
            Collections.shuffle(round, order);
            for (Trial t : round) t.run(r >= warmup);
            progress("  round %d/%d", r + 1, total);
        }
        progressDone();
        String interference = cpu.report();

        List<Series> all = Stream.of(skiffWhole, skiffExit, skiffStart, skiffDestroy, skiffUnready, runc, bwrap, unshare, exec).filter(s -> s.count() > 0).toList();
        table(all, skiffWhole);
        out.printf("  (%d warm-up rounds, then %d measured; each round runs every variant once, in random order)%n", warmup, runs);
        out.println("  " + interference);
        out.println();
        ratio("Skiff whole / bwrap", skiffWhole, bwrap);
        ratio("Skiff whole / runc ", skiffWhole, runc);
        ratio("Skiff start->exit / bwrap", skiffExit, bwrap);
        ratio("Skiff start->exit / runc ", skiffExit, runc);
        if (skiffUnready.count() > 0) ratio("Skiff whole, no launcher ready / bwrap", skiffUnready, bwrap);
        ratio("Skiff whole / unshare", skiffWhole, unshare);
        ratio("Skiff whole / plain exec", skiffWhole, exec);

        boolean bwrapOk = skiffWhole.p(50) <= bwrap.p(50);
        boolean runcOk = skiffWhole.p(50) <= runc.p(50) / 5;
        out.printf(Locale.ROOT, "%n  target: Skiff p50 <= bwrap p50 ........ %s (%s ms vs %s ms; start->exit alone: %s ms)%n",
                bwrapOk ? "MET" : "MISSED", Series.ms(skiffWhole.p(50)), Series.ms(bwrap.p(50)), Series.ms(skiffExit.p(50)));
        out.printf(Locale.ROOT, "  target: Skiff p50 <= runc p50 / 5 ..... %s (%s ms vs %s ms)%n",
                runcOk ? "MET" : "MISSED", Series.ms(skiffWhole.p(50)), Series.ms(runc.p(50) / 5));

        summary.add("/bin/true start-to-exit, " + runs + " runs each after " + warmup + " warm-up rounds (interleaved):");
        summary.add("");
        summary.add(interference + ".");
        summary.add("");
        summary.add("| what | p50 ms | p99 ms |");
        summary.add("| --- | ---: | ---: |");
        for (Series s : all) summary.add("| " + s.name().trim() + " | " + Series.ms(s.p(50)) + " | " + Series.ms(s.p(99)) + " |");
        summary.add("");
        summary.add(String.format(Locale.ROOT, "Skiff (whole) / bwrap = %.2f, Skiff / runc = %.2f (p50); start->exit only: %.2f and %.2f.",
                skiffWhole.p(50) / bwrap.p(50), skiffWhole.p(50) / runc.p(50), skiffExit.p(50) / bwrap.p(50), skiffExit.p(50) / runc.p(50)));
        summary.add(String.format(Locale.ROOT, "Targets: p50 <= bwrap: %s; p50 <= runc/5 (%s ms): %s.",
                bwrapOk ? "met" : "MISSED", Series.ms(runc.p(50) / 5), runcOk ? "met" : "MISSED"));

        if (variants.contains("runc") && variants.contains("exec")) {
            hyperfineBaselines(List.of(runcPb.command(), bwrapPb.command(), unsharePb.command(), execPb.command()),
                    List.of(runc, bwrap, unshare, exec));
        }
    }

    /**
     * The same baselines timed by hyperfine, without a JVM in the loop: shows how much of each
     * "from Java" figure is the JVM's own process spawn and wait (and makes them comparable with
     * figures taken with hyperfine elsewhere).
     */
    void hyperfineBaselines(List<List<String>> commands, List<Series> fromJava) throws Exception {
        if (firstLine("hyperfine", "--version").endsWith("missing")) {
            out.println("  (hyperfine is not installed: the cross-check without a JVM in the loop is skipped)");
            return;
        }
        out.println();
        out.println("  the same baselines timed by hyperfine -N (no JVM in the loop), " + runs + " runs after " + warmup + " warm-up:");
        summary.add("");
        summary.add("The same baselines timed by hyperfine -N (no JVM in the loop):");
        summary.add("");
        summary.add("| what | p50 ms | p99 ms | from Java p50 ms |");
        summary.add("| --- | ---: | ---: | ---: |");
        Path json = Files.createTempFile("skiff-bench-hyperfine", ".json");
        try {
            for (int i = 0; i < commands.size(); i++) {
                List<String> cmd = new ArrayList<>(List.of("hyperfine", "-N", "--style", "none", "--warmup", Integer.toString(warmup),
                        "--runs", Integer.toString(runs), "--export-json", json.toString(), "--"));
                cmd.add(String.join(" ", commands.get(i)));
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (p.waitFor() != 0) throw new IllegalStateException("hyperfine failed: " + text.trim());
                Series h = new Series(fromJava.get(i).name());
                String j = Files.readString(json);
                int at = j.indexOf("\"times\"");
                String arr = j.substring(j.indexOf('[', at) + 1, j.indexOf(']', at));
                for (String v : arr.split(",")) if (!v.isBlank()) h.add(Math.round(Double.parseDouble(v.trim()) * 1e9));
                out.printf("  %-62s %5d %8s %8s   (from Java: %s)%n", h.name(), h.count(), Series.ms(h.p(50)), Series.ms(h.p(99)),
                        Series.ms(fromJava.get(i).p(50)));
                summary.add("| " + h.name() + " | " + Series.ms(h.p(50)) + " | " + Series.ms(h.p(99)) + " | " + Series.ms(fromJava.get(i).p(50)) + " |");
            }
        } finally {
            Files.deleteIfExists(json);
        }
    }

    interface Trial {
        void run(boolean record) throws Exception;
    }

    static ProcessBuilder quietBuilder(String... cmd) {
        return new ProcessBuilder(cmd)
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
    }

    static void timeProcess(ProcessBuilder pb, Series series, boolean record) throws Exception {
        long t0 = System.nanoTime();
        Process p = pb.start();
        int rc = p.waitFor();
        long t1 = System.nanoTime();
        if (rc != 0) {
            // run it again with its output, for the message
            Process again = new ProcessBuilder(pb.command()).redirectErrorStream(true).start();
            String text = new String(again.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            again.waitFor();
            throw new IllegalStateException(String.join(" ", pb.command()) + " exited with " + rc + ": " + text.trim());
        }
        if (record) series.add(t1 - t0);
    }

    /** Fails (destroying the sandbox) with its stderr when it did not exit 0; costs one comparison otherwise. */
    static void check(Sandbox.Exit e, Sandbox s) throws IOException {
        if (e.code() != 0) {
            String err = new String(s.stderr().readNBytes(4096), StandardCharsets.UTF_8).trim();
            s.destroy();
            throw new IllegalStateException("sandbox " + s.id() + " " + e.describe() + ": " + err);
        }
    }

    SandboxSpec.Builder baseSpec(String id) {
        List<RootfsEntry> rootfs = new ArrayList<>(HostLayer.of(HostLayer.SYSTEM_DIRS));
        rootfs.addAll(HostLayer.minimalEtc(UID, UID, "fn"));
        rootfs.add(new RootfsEntry.Tmpfs("/tmp", 8 << 20, "1777"));
        return SandboxSpec.builder(id).addAll(rootfs).hostname("bench").user(UID, UID)
                .env("PATH", "/usr/bin:/bin").limits(FULL_LIMITS);
    }

    SandboxSpec trueSpec(String id) {
        return baseSpec(id).command("/bin/true").build();
    }

    String nextId(String prefix) {
        return prefix + "-" + (seq++);
    }

    // ------------------------------------------------------------------ 3: Python create-to-ready

    Path fdkDir;
    Path codeDir;
    Path socketsDir;

    void prepareWork() throws IOException {
        deleteTree(workDir);
        fdkDir = workDir.resolve("fdk");
        codeDir = workDir.resolve("code");
        socketsDir = workDir.resolve("sockets");
        Files.createDirectories(fdkDir);
        Files.createDirectories(codeDir);
        Files.createDirectories(socketsDir);
        try (InputStream in = SandboxStartBench.class.getResourceAsStream("/skiff/runtimes/python/fdk.py")) {
            if (in == null) throw new IOException("fdk.py is not on the class path (function-templates jar)");
            Files.copy(in, fdkDir.resolve("fdk.py"));
        }
        Files.writeString(codeDir.resolve("handler.py"), "def handle(event, context):\n    return \"ok\"\n");
    }

    /** The command and environment the invoker uses (Runtimes, ReplicaLauncher.spec), or the tiny listener. */
    List<String> pythonCommand(String program, String fdkPath) {
        if (program.equals("fdk")) return List.of("/usr/bin/python3", "-u", "-B", fdkPath);
        return List.of("/usr/bin/python3", "-u", "-B", "-c", LISTENER_SCRIPT);
    }

    Map<String, String> pythonEnv(String listener, String codeDirPath) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PYTHONDONTWRITEBYTECODE", "1");
        env.put("PYTHONUNBUFFERED", "1");
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", "/tmp");
        env.put("LANG", "C.UTF-8");
        env.put("FN_LISTENER", listener);
        env.put("FN_CODE_DIR", codeDirPath);
        env.put("FN_HANDLER", "handler.handle");
        env.put("FN_NAME", "bench");
        return env;
    }

    /** As ReplicaLauncher.spec: shared host layer, code and FDK read-only, a writable socket dir. */
    SandboxSpec pythonSpec(String id, String program, Path socketDir) {
        List<RootfsEntry> rootfs = new ArrayList<>(HostLayer.of(HostLayer.SYSTEM_DIRS));
        rootfs.addAll(HostLayer.minimalEtc(UID, UID, "fn"));
        rootfs.add(new RootfsEntry.Tmpfs("/tmp", 64L << 20, "1777"));
        rootfs.add(new RootfsEntry.Bind(codeDir, "/code", true));
        rootfs.add(new RootfsEntry.Bind(fdkDir, "/skiff/fdk", true));
        rootfs.add(new RootfsEntry.Bind(socketDir, SOCKET_DIR, false));
        return SandboxSpec.builder(id).addAll(rootfs).hostname("bench").user(UID, UID)
                .command(pythonCommand(program, "/skiff/fdk/fdk.py"))
                .env(pythonEnv(SOCKET, "/code"))
                .cwd("/code")
                .limits(PYTHON_LIMITS)
                .build();
    }

    /** A started Python sandbox and its host-side socket directory. */
    record Replica(Sandbox sandbox, Path socketDir) {}

    Replica startPython(String program) throws Exception {
        String id = nextId(program.equals("fdk") ? "fdk" : "py");
        Path socketDir = socketsDir.resolve(id);
        Files.createDirectory(socketDir);
        NativeSyscalls.INSTANCE.chown(socketDir, UID, UID);
        return new Replica(runtime.start(pythonSpec(id, program, socketDir)), socketDir);
    }

    void stop(Replica r) throws IOException {
        r.sandbox.destroy();
        deleteTree(r.socketDir);
    }

    /** Sandbox created -> its socket accepts a connection. */
    long timeSandboxReady(String program) throws Exception {
        long t0 = System.nanoTime();
        Replica r = startPython(program);
        try {
            awaitConnect(r.socketDir.resolve("fn.sock"), () -> !r.sandbox.isAlive(), () -> stderrOf(r.sandbox));
            return System.nanoTime() - t0;
        } finally {
            stop(r);
        }
    }

    /** The same program outside any sandbox: process spawned -> its socket accepts a connection. */
    long timeHostReady(String program) throws Exception {
        Path dir = socketsDir.resolve(nextId("host"));
        Files.createDirectory(dir);
        Path sock = dir.resolve("fn.sock");
        ProcessBuilder pb = new ProcessBuilder(pythonCommand(program, fdkDir.resolve("fdk.py").toString()))
                .directory(codeDir.toFile())
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().clear();
        pb.environment().putAll(pythonEnv(sock.toString(), codeDir.toString()));
        long t0 = System.nanoTime();
        Process p = pb.start();
        try {
            awaitConnect(sock, () -> !p.isAlive(), () -> "exit " + p.exitValue());
            return System.nanoTime() - t0;
        } finally {
            p.destroyForcibly();
            p.waitFor();
            deleteTree(dir);
        }
    }

    interface Text {
        String get() throws IOException;
    }

    static void awaitConnect(Path socket, BooleanSupplier died, Text why) throws Exception {
        UnixDomainSocketAddress addr = UnixDomainSocketAddress.of(socket);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (SocketChannel ch = SocketChannel.open(addr)) {
                return;
            } catch (IOException notYet) {
                // not bound or not listening yet
            }
            if (died.getAsBoolean()) throw new IllegalStateException("python died before listening: " + why.get());
            if (System.nanoTime() > deadline) throw new IllegalStateException("python not listening after 30 s on " + socket);
            LockSupport.parkNanos(100_000); // poll every 0.1 ms, same for sandbox and host
        }
    }

    static String stderrOf(Sandbox s) throws IOException {
        return new String(s.stderr().readNBytes(4096), StandardCharsets.UTF_8).trim();
    }

    void pythonReady() throws Exception {
        heading("3. create-to-ready of a Python function (socket accepts a connection), sandbox vs the same program outside");
        Series sbxListener = new Series("Skiff sandbox: python3 -c listener");
        Series hostListener = new Series("no sandbox:    python3 -c listener");
        Series sbxFdk = new Series("Skiff sandbox: FDK + trivial handler");
        Series hostFdk = new Series("no sandbox:    FDK + trivial handler");
        List<Trial> trials = List.of(
                record -> { long t = timeSandboxReady("listener"); if (record) sbxListener.add(t); },
                record -> { long t = timeHostReady("listener"); if (record) hostListener.add(t); },
                record -> { long t = timeSandboxReady("fdk"); if (record) sbxFdk.add(t); },
                record -> { long t = timeHostReady("fdk"); if (record) hostFdk.add(t); });
        int total = pythonWarmup + pythonRuns;
        waitQuiet();
        CpuMeter cpu = CpuMeter.start();
        Random order = new Random(7);
        for (int r = 0; r < total; r++) {
            List<Trial> round = new ArrayList<>(trials);
            Collections.shuffle(round, order);
            for (Trial t : round) t.run(r >= pythonWarmup);
            progress("  round %d/%d", r + 1, total);
        }
        progressDone();
        String interference = cpu.report();
        List<Series> all = List.of(sbxListener, hostListener, sbxFdk, hostFdk);
        table(all, null);
        out.println("  " + interference);
        out.printf(Locale.ROOT, "  Skiff adds (p50 difference): listener %s ms, FDK %s ms%n",
                Series.ms(sbxListener.p(50) - hostListener.p(50)), Series.ms(sbxFdk.p(50) - hostFdk.p(50)));
        out.println("  (/usr/bin/python3 -u -B, the invoker's command and environment; the sandbox as ReplicaLauncher.spec builds it;");
        out.println("   ready = a connect() to the unix socket succeeds, polled every 0.1 ms for both)");

        summary.add("");
        summary.add("Python create-to-ready (connect() succeeds), " + pythonRuns + " runs each, interleaved. " + interference + ".");
        summary.add("");
        summary.add("| what | p50 ms | p99 ms |");
        summary.add("| --- | ---: | ---: |");
        for (Series s : all) summary.add("| " + s.name().replaceAll("\\s+", " ") + " | " + Series.ms(s.p(50)) + " | " + Series.ms(s.p(99)) + " |");
        summary.add("");
        summary.add(String.format(Locale.ROOT, "Skiff adds %s ms (listener) and %s ms (FDK) at p50 over the interpreter's own start.",
                Series.ms(sbxListener.p(50) - hostListener.p(50)), Series.ms(sbxFdk.p(50) - hostFdk.p(50))));
    }

    // ------------------------------------------------------------------ 4: many idle sandboxes

    void manyIdle() throws Exception {
        heading("4. " + many + " idle Python sandboxes (" + (manyProgram.equals("fdk") ? "the real FDK" : "python3 -c listener") + ") at once");
        waitQuiet();
        System.gc();
        Thread.sleep(500);
        long rss0 = Procfs.selfRss();
        int threads0 = Procfs.selfThreads();
        Map<String, Integer> names0 = threadNames();
        Map<String, Long> mem0 = Procfs.meminfo();
        long outsideKmem0 = layout.kernelMemoryOf(layout.runtimeMemoryDir()) - layout.kernelMemory(null);

        List<Replica> replicas = new ArrayList<>();
        CpuMeter cpu = CpuMeter.start();
        Series ready = new Series("create-to-ready while ramping up");
        long ramp0 = System.nanoTime();
        try {
            for (int i = 0; i < many; i++) {
                long t0 = System.nanoTime();
                Replica r = startPython(manyProgram);
                replicas.add(r);
                awaitConnect(r.socketDir.resolve("fn.sock"), () -> !r.sandbox.isAlive(), () -> stderrOf(r.sandbox));
                ready.add(System.nanoTime() - t0);
                progress("  started %d/%d", i + 1, many);
            }
            long rampNanos = System.nanoTime() - ramp0;
            progressDone();
            Thread.sleep(2000); // let the interpreters settle
            System.gc();
            Thread.sleep(500);

            long rss1 = Procfs.selfRss();
            int threads1 = Procfs.selfThreads();
            Map<String, Integer> names1 = threadNames();
            Map<String, Long> mem1 = Procfs.meminfo();
            long outsideKmem1 = layout.kernelMemoryOf(layout.runtimeMemoryDir()) - layout.kernelMemory(null);

            long cgUsage = 0, cgKernel = 0, cgAnon = 0, cgFile = 0;
            long initRss = 0, initPss = 0, initAnon = 0, fnRss = 0, fnPss = 0;
            int fnProcs = 0;
            for (Replica r : replicas) {
                String id = r.sandbox.id();
                cgUsage += layout.memoryUsage(id);
                cgKernel += layout.kernelMemory(id);
                cgAnon += layout.anonMemory(id);
                cgFile += layout.fileMemory(id);
                long init = r.sandbox.pid();
                initRss += Procfs.rss(init);
                initPss += Procfs.pss(init);
                initAnon += Procfs.rssAnon(init);
                for (long pid : layout.pids(id)) {
                    if (pid == init) continue;
                    fnRss += Procfs.rss(pid);
                    fnPss += Procfs.pss(pid);
                    fnProcs++;
                }
            }
            long groupUsage = layout.memoryUsage(null);
            int n = replicas.size();
            long jvmGrowth = rss1 - rss0;
            int threadGrowth = threads1 - threads0;

            out.printf(Locale.ROOT, "  ramp-up: %d sandboxes ready in %.1f s (%.1f per second); create-to-ready p50 %s ms, p99 %s ms%n",
                    n, rampNanos / 1e9, n / (rampNanos / 1e9), Series.ms(ready.p(50)), Series.ms(ready.p(99)));
            out.println("  " + cpu.report());
            out.println();
            out.printf("  %-58s %12s %14s%n", "memory", "total", "per sandbox");
            row("sandbox cgroups: sum of " + (layout.v2() ? "memory.current" : "memory.usage_in_bytes"), cgUsage, n);
            row("  of which anon (" + (layout.v2() ? "anon" : "rss") + ")", cgAnon, n);
            row("  of which page cache/tmpfs (" + (layout.v2() ? "file" : "cache") + ")", cgFile, n);
            row("  of which kernel (" + (layout.v2() ? "memory.stat kernel" : "memory.kmem.usage_in_bytes") + ")", cgKernel, n);
            row("the group's own cgroup (hierarchical, cross-check)", groupUsage, n);
            row("function processes: RSS (" + fnProcs + " processes)", fnRss, n);
            row("function processes: PSS", fnPss, n);
            row("skiff-init: VmRSS", initRss, n);
            row("skiff-init: PSS (its static binary's pages are shared)", initPss, n);
            row("skiff-init: RssAnon (private: stack, data, heap)", initAnon, n);
            row("JVM RSS growth", jvmGrowth, n);
            out.printf(Locale.ROOT, "  %-58s %12d %14.2f%n", "JVM threads (" + threads0 + " -> " + threads1 + ")", threadGrowth, threadGrowth / (double) n);
            for (var e : diffNames(names0, names1).entrySet()) {
                out.printf(Locale.ROOT, "  %-58s %12d%n", "    added thread \"" + e.getKey() + "\"", e.getValue());
            }
            long kernelOutside = outsideKmem1 - outsideKmem0;
            row("kernel memory charged to the runtime's cgroup, outside the sandboxes'", kernelOutside, n);
            out.println("    (namespaces, staged mounts, pipes: made by the launcher thread before init joins the sandbox's");
            out.println("     cgroup; plus the JVM's own kernel memory; " + layout.runtimeMemoryDir()
                    + (layout.runtimeIsRootCgroup() ? ", the root cgroup: the whole machine, noisy)" : ")"));
            out.println();
            out.println("  system-wide /proc/meminfo change (whole machine: other work on it shows up here too):");
            for (String k : List.of("MemAvailable", "Slab", "SUnreclaim", "KernelStack", "PageTables", "Percpu")) {
                long d = mem1.getOrDefault(k, 0L) - mem0.getOrDefault(k, 0L);
                if (k.equals("MemAvailable")) d = -d;
                row((k.equals("MemAvailable") ? "used (MemAvailable drop)" : k), d, n);
            }

            // Memory Skiff itself adds per sandbox: skiff-init counted by PSS (its static binary's
            // pages are in memory once, however many inits map them; VmRSS counts them in every
            // init), the JVM's RSS growth, and the kernel memory outside the sandboxes' cgroups (left
            // out when the runtime sits in the root cgroup, where it would be the whole machine's).
            long kernelPart = layout.runtimeIsRootCgroup() ? 0 : Math.max(0, kernelOutside);
            double perSandbox = (initPss + Math.max(0, jvmGrowth) + kernelPart) / (double) n;
            double perSandboxRss = (initRss + Math.max(0, jvmGrowth) + kernelPart) / (double) n;
            out.println();
            out.printf(Locale.ROOT, "  Skiff's own overhead per sandbox: %s = skiff-init PSS %s + JVM RSS growth %s + kernel outside %s%n",
                    kib(perSandbox), kib(initPss / (double) n), kib(jvmGrowth / (double) n), kib(kernelPart / (double) n));
            out.printf(Locale.ROOT, "  (%s counting skiff-init by VmRSS, its shared binary counted in every init), plus %.2f JVM thread(s)%n",
                    kib(perSandboxRss), threadGrowth / (double) n);
            boolean ok = perSandbox < 1024 * 1024;
            out.printf("  target: under 1 MiB added per sandbox ... %s%n", ok ? "MET" : "MISSED");

            summary.add("");
            summary.add(n + " idle sandboxes (" + manyProgram + ") at once: ready in " + String.format(Locale.ROOT, "%.1f", rampNanos / 1e9)
                    + " s, create-to-ready p50 " + Series.ms(ready.p(50)) + " ms / p99 " + Series.ms(ready.p(99)) + " ms while ramping.");
            summary.add("");
            summary.add("| per sandbox | KiB |");
            summary.add("| --- | ---: |");
            summary.add("| sandbox cgroup memory (function + init + kernel charged to it) | " + kibNum(cgUsage / (double) n) + " |");
            summary.add("| of which kernel memory in the cgroup | " + kibNum(cgKernel / (double) n) + " |");
            summary.add("| function processes PSS | " + kibNum(fnPss / (double) n) + " |");
            summary.add("| skiff-init VmRSS / PSS / RssAnon | " + kibNum(initRss / (double) n) + " / " + kibNum(initPss / (double) n)
                    + " / " + kibNum(initAnon / (double) n) + " |");
            summary.add("| JVM RSS growth | " + kibNum(jvmGrowth / (double) n) + " |");
            summary.add(String.format(Locale.ROOT, "| JVM threads added | %.2f per sandbox |", threadGrowth / (double) n));
            summary.add("| kernel memory charged to the runtime's cgroup outside the sandboxes' (namespaces, mounts, pipes, JVM) | "
                    + kibNum(kernelOutside / (double) n) + " |");
            summary.add("");
            summary.add("Skiff's own overhead (skiff-init PSS + JVM RSS growth + kernel memory outside the sandbox cgroups): " + kib(perSandbox)
                    + " per sandbox (" + kib(perSandboxRss) + " with skiff-init's VmRSS, which counts its shared binary in every init); target < 1 MiB: "
                    + (ok ? "met" : "MISSED") + ".");
        } finally {
            long d0 = System.nanoTime();
            for (Replica r : replicas) {
                try {
                    stop(r);
                } catch (IOException e) {
                    problems.add("destroy " + r.sandbox.id() + ": " + e.getMessage());
                }
            }
            long d1 = System.nanoTime();
            progressDone();
            out.printf(Locale.ROOT, "%n  destroyed all %d in %.2f s (%.1f ms each)%n", replicas.size(), (d1 - d0) / 1e9,
                    replicas.isEmpty() ? 0 : (d1 - d0) / 1e6 / replicas.size());
            String clean = verifyClean("after destroying the " + replicas.size() + " sandboxes");
            summary.add("Destroyed all " + replicas.size() + " in " + String.format(Locale.ROOT, "%.2f", (d1 - d0) / 1e9) + " s; " + clean + ".");
        }
    }

    void row(String what, long bytes, int n) {
        out.printf(Locale.ROOT, "  %-58s %12s %14s%n", what, mib(bytes), kib(bytes / (double) n));
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    static String kib(double bytes) {
        return String.format(Locale.ROOT, "%.0f KiB", bytes / 1024.0);
    }

    static String kibNum(double bytes) {
        return String.format(Locale.ROOT, "%.0f", bytes / 1024.0);
    }

    static Map<String, Integer> threadNames() {
        Map<String, Integer> m = new TreeMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) m.merge(t.getName().replaceAll("[0-9]+", "N"), 1, Integer::sum);
        return m;
    }

    static Map<String, Integer> diffNames(Map<String, Integer> before, Map<String, Integer> after) {
        Map<String, Integer> d = new TreeMap<>();
        for (var e : after.entrySet()) {
            int delta = e.getValue() - before.getOrDefault(e.getKey(), 0);
            if (delta != 0) d.put(e.getKey(), delta);
        }
        return d;
    }

    // ------------------------------------------------------------------ 5: where the time goes

    void profile() throws Exception {
        heading("5. where the time of one Skiff start goes (start replayed step by step, probe as the function; "
                + profileRuns + " runs, " + profileGapMillis + " ms apart)");
        if (profileInit == null) {
            out.println("  (skiff-init's own steps are not split: run with --profile-init, which sandbox-start.sh does by default)");
        }
        StartProfile prof = new StartProfile(stateDir, GROUP, profileInit);
        StartProfile.Steps steps = new StartProfile.Steps();
        int total = profileRuns + warmup;
        waitQuiet();
        CpuMeter cpu = CpuMeter.start();
        for (int r = 0; r < total; r++) {
            SandboxSpec spec = baseSpec(nextId("p")).add(RootfsEntry.readOnly(probe, "/probe")).command("/probe").build();
            prof.runOnce(spec, steps, r >= warmup);
            progress("  run %d/%d", r + 1, total);
            if (profileGapMillis > 0) Thread.sleep(profileGapMillis);
        }
        progressDone();
        String interference = cpu.report();
        out.println("  " + interference);
        out.printf("  %-64s %8s %8s %8s%n", "step", "p50 ms", "p99 ms", "mean");
        summary.add("");
        summary.add("Where one Skiff start goes (start replayed step by step with the clock probe as the function, "
                + profileRuns + " runs, " + profileGapMillis + " ms apart" + (profileInit != null ? ", skiff-init built with timing stamps" : "") + "). "
                + interference + ".");
        summary.add("");
        summary.add("| step | p50 ms | p99 ms | mean ms |");
        summary.add("| --- | ---: | ---: | ---: |");
        for (var e : steps.byStep.entrySet()) {
            Series s = new Series(e.getKey());
            e.getValue().forEach(s::add);
            out.printf("  %-64s %8s %8s %8s%n", e.getKey(), Series.ms(s.p(50)), Series.ms(s.p(99)), Series.ms(s.mean()));
            summary.add("| " + e.getKey() + " | " + Series.ms(s.p(50)) + " | " + Series.ms(s.p(99)) + " | " + Series.ms(s.mean()) + " |");
        }
        List<Long> join = steps.byStep.get("  init: join cgroup: first write");
        if (join != null) {
            Series j = new Series("join");
            join.forEach(j::add);
            String how = runtime.cgroupVersion().equals("v1")
                    ? "init joins by writing \"0\" to each controller's \"tasks\" file, which moves just its one thread and so skips the\n"
                    + "  kernel's global cgroup_threadgroup_rwsem (a cgroup.procs write takes it for writing and, on a default mount,\n"
                    + "  waits for an RCU grace period: ~11 ms on a 2-vCPU VM)."
                    : "on cgroup v2 init joins through cgroup.procs, which takes the global cgroup_threadgroup_rwsem for writing;\n"
                    + "  on a default mount that waits for an RCU grace period unless the favordynmods mount option is set.";
            String note = "  note: joining the cgroup cost " + Series.ms(j.p(50)) + " ms at p50; " + how;
            out.println();
            out.println(note);
            summary.add("");
            summary.add(note.replace("  note: ", "Note: ").replace("\n  ", " "));
        }
        out.println();
        out.println("  unshare(2) of one namespace type on a fresh thread (50 rounds):");
        for (var e : StartProfile.unshareCosts(50).entrySet()) {
            Series s = new Series(e.getKey());
            e.getValue().forEach(s::add);
            out.printf("    %-12s p50 %s ms, p99 %s ms%n", e.getKey(), Series.ms(s.p(50)), Series.ms(s.p(99)));
        }
    }

    // ------------------------------------------------------------------ checks and printing

    /**
     * Waits (up to --wait-quiet seconds) until other work uses under 10% of the machine over a
     * one-second sample, so that a neighbour's build does not land in the middle of a section.
     */
    void waitQuiet() throws InterruptedException {
        if (waitQuietSeconds <= 0) return;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitQuietSeconds);
        long start = System.nanoTime();
        double other;
        do {
            CpuMeter m = CpuMeter.start();
            Thread.sleep(1000);
            other = m.otherPercent();
            if (other < 10) {
                long waited = (System.nanoTime() - start) / 1_000_000_000L;
                if (waited > 1) out.printf(Locale.ROOT, "  (waited %d s for other work on the machine to calm down)%n", waited);
                return;
            }
            progress("  waiting for a quiet machine: other work uses %.0f%% of the CPUs", other);
        } while (System.nanoTime() < deadline);
        progressDone();
        out.printf(Locale.ROOT, "  note: the machine stayed busy with other work (%.0f%% of the CPUs) for %d s; measuring anyway%n",
                other, waitQuietSeconds);
    }

    /** Nothing of the benchmark's sandboxes may remain: no cgroup, no init, no state dir, no mount. */
    String verifyClean(String when) throws IOException {
        List<String> found = new ArrayList<>();
        for (Path p : layout.leftovers()) found.add("cgroup " + p);
        String initPath = stateDir.resolve("bin").resolve("skiff-init").toString();
        for (long pid : Procfs.processesRunning(initPath)) found.add("skiff-init process " + pid);
        try (var s = Files.list(stateDir)) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                // bin holds skiff-init; root is the one (host-side empty) staging directory every start mounts on privately
                if (name.equals("root") && isEmptyDir(p)) continue;
                if (!name.equals("bin")) found.add("state dir " + p);
            }
        }
        for (String line : Procfs.read(Path.of("/proc/self/mountinfo")).split("\n")) {
            if (line.contains(stateDir.toString())) found.add("host mount " + line);
        }
        String result;
        if (found.isEmpty()) {
            result = "nothing left (no cgroup under " + GROUP + ", no skiff-init, no state dir but the empty staging root, no mount)";
        } else {
            result = found.size() + " leftovers: " + String.join("; ", found);
            problems.add(when + ": " + result);
        }
        out.println("  check " + when + ": " + result);
        return result;
    }

    static boolean isEmptyDir(Path dir) throws IOException {
        try (var entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }

    void heading(String title) {
        Report.heading(out, title);
    }

    void table(List<Series> all, Series ref) {
        out.printf("  %-62s %5s %8s %8s %8s %8s%s%n", "what", "runs", "p50 ms", "p99 ms", "mean", "min",
                ref == null ? "" : String.format("  %s", "Skiff÷this (p50)"));
        for (Series s : all) {
            String ratio = ref == null || s == ref ? "" : String.format(Locale.ROOT, "  %.2f", ref.p(50) / s.p(50));
            out.printf("  %-62s %5d %8s %8s %8s %8s%s%n", s.name(), s.count(), Series.ms(s.p(50)), Series.ms(s.p(99)),
                    Series.ms(s.mean()), Series.ms(s.min()), ratio);
        }
    }

    void ratio(String label, Series a, Series b) {
        out.printf(Locale.ROOT, "  %-28s p50 %6.2f   p99 %6.2f%n", label, a.p(50) / b.p(50), a.p(99) / b.p(99));
    }

    String hostLine;

    void printHost(String load) {
        String cpu = "";
        for (String line : Procfs.read(Path.of("/proc/cpuinfo")).split("\n")) {
            if (line.startsWith("model name")) {
                cpu = line.substring(line.indexOf(':') + 1).trim();
                break;
            }
        }
        hostLine = String.format(Locale.ROOT, "Linux %s, %d CPUs (%s), %.1f GiB RAM, cgroup %s, Java %s, %s, %s, python %s; load average at start %s",
                Procfs.read(Path.of("/proc/sys/kernel/osrelease")).trim(),
                Runtime.getRuntime().availableProcessors(), cpu,
                Procfs.meminfo().getOrDefault("MemTotal", 0L) / 1073741824.0,
                layout.version(), Runtime.version(),
                firstLine("runc", "--version"), firstLine("bwrap", "--version"),
                firstLine("/usr/bin/python3", "--version").replace("Python ", ""), load);
        out.println("Skiff sandbox start benchmark, " + ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        out.println("host: " + hostLine);
        out.println("sandbox cgroups of this run: " + layout.groupDirs().values().stream().distinct().map(Path::toString).toList());
    }

    static String firstLine(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            p.waitFor();
            return s.isEmpty() ? "?" : s.lines().findFirst().orElse("?");
        } catch (IOException | InterruptedException e) {
            return cmd[0] + " missing";
        }
    }

    static void quiet(String... cmd) {
        try {
            quietBuilder(cmd).start().waitFor();
        } catch (IOException | InterruptedException ignored) {
            // best effort
        }
    }

    void printSummary() {
        Report.summary(out, "Sandbox start benchmark", hostLine, repro, summary, problems);
    }

    static void progress(String fmt, Object... args) {
        System.err.printf("\r" + fmt + "   ", args);
    }

    static void progressDone() {
        System.err.print("\r" + " ".repeat(40) + "\r");
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
