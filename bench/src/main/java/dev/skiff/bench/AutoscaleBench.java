package dev.skiff.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoField;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Autoscaler benchmark against a running Skiff (bench/autoscale.sh starts one of its own): steps
 * of load from 1 to 50 closed-loop clients on a function with concurrency 5, and from each step
 * the time to the scale decision (skiff_desired_replicas reaching the threshold) and to the
 * capacity being ready (skiff_replicas, which counts ready replicas only, reaching it).
 * {@code --help} lists the options.
 */
public final class AutoscaleBench {
    static final String FUNCTION = "step";
    static final String SLEEPER = "import time\n\n\ndef handle(event, context):\n    time.sleep(%s)\n    return \"ok\"\n";
    /** Knative's KPA: decisions every 2 s, a 6 s panic window. */
    static final String KNATIVE = "Knative KPA for reference: a decision every 2 s (tick), panic window 6 s (10% of its 60 s stable window)";

    // ---- options ----
    String gateway;
    long serverPid;
    Path workDir;
    Path serverLog;
    String cgroupName = "skiff-bench5";
    int steps = 5;
    int baseClients = 1;
    int stepClients = 50;
    double stepSeconds = 8;
    int threshold = 10;
    int pollMillis = 25;
    int settleTimeoutSeconds = 120;
    int settleReplicas = 2;
    int concurrency = 5;
    int maxScale = 20;
    int sleepMillis = 100;
    String stableWindow = "10s";
    String scaleToZeroGrace = "30s";
    int waitQuietSeconds = 30;
    double decisionTarget = 1.0;
    double readyTarget = 2.0;
    String repro = "bench/autoscale.sh";

    // ---- state ----
    final PrintStream out = System.out;
    final List<String> summary = new ArrayList<>();
    final List<String> problems = new ArrayList<>();
    SkiffUnderTest skiff;
    String hostLine;

    public static void main(String[] args) throws Exception {
        AutoscaleBench b = new AutoscaleBench();
        b.parse(args);
        System.exit(b.run());
    }

    static final String USAGE = """
            usage: AutoscaleBench --gateway URL --server-pid PID --work DIR [options]
              --gateway URL            the Skiff to measure (e.g. http://127.0.0.1:18080)
              --server-pid PID         its JVM (CPU accounting for the quiet-machine wait, cgroup location)
              --server-log FILE        its log: the autoscaler's and the invoker's scale lines (exact decision
                                       times, replicas started by decisions); without it only /q/metrics is used
              --cgroup-name NAME       its skiff.cgroup-name (default skiff-bench5)
              --work DIR               scratch: the function folder
              --steps N                load steps (default 5)
              --base-clients N         clients between steps (default 1)
              --clients N              clients during a step (default 50)
              --step-seconds S         how long a step lasts (default 8)
              --threshold N            replicas that count as scaled (default 10: 50 clients / concurrency 5)
              --poll-ms MS             /q/metrics poll interval during a step (default 25)
              --settle-replicas N      before a step, desired and actual replicas must be <= N (default 2) ...
              --settle-timeout S       ... within S seconds (default 120), held for 2 s
              --concurrency N --max-scale N --sleep-ms MS   the function (default 5, 20, 100)
              --stable-window D        scale.stableWindow (default 10s; Skiff's default 60s)
              --scale-to-zero-grace D  scale.scaleToZeroGrace (default 30s, Skiff's default)
              --wait-quiet S           before each step wait up to S s (default 30) until other work uses < 10% CPU
              --repro TEXT             the command to print as "reproduce" """;

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
                case "--gateway" -> gateway = v;
                case "--server-pid" -> serverPid = Long.parseLong(v);
                case "--server-log" -> serverLog = Path.of(v);
                case "--cgroup-name" -> cgroupName = v;
                case "--work" -> workDir = Path.of(v).toAbsolutePath();
                case "--steps" -> steps = Integer.parseInt(v);
                case "--base-clients" -> baseClients = Integer.parseInt(v);
                case "--clients" -> stepClients = Integer.parseInt(v);
                case "--step-seconds" -> stepSeconds = Double.parseDouble(v);
                case "--threshold" -> threshold = Integer.parseInt(v);
                case "--poll-ms" -> pollMillis = Integer.parseInt(v);
                case "--settle-replicas" -> settleReplicas = Integer.parseInt(v);
                case "--settle-timeout" -> settleTimeoutSeconds = Integer.parseInt(v);
                case "--concurrency" -> concurrency = Integer.parseInt(v);
                case "--max-scale" -> maxScale = Integer.parseInt(v);
                case "--sleep-ms" -> sleepMillis = Integer.parseInt(v);
                case "--stable-window" -> stableWindow = v;
                case "--scale-to-zero-grace" -> scaleToZeroGrace = v;
                case "--wait-quiet" -> waitQuietSeconds = Integer.parseInt(v);
                case "--repro" -> repro = v;
                default -> throw new IllegalArgumentException("unknown option " + a + " (see --help)");
            }
        }
        if (gateway == null || serverPid == 0 || workDir == null) throw new IllegalArgumentException("--gateway, --server-pid and --work are required (see --help)");
        if (baseClients < 1 || stepClients <= baseClients) throw new IllegalArgumentException("need 1 <= --base-clients < --clients");
    }

    int run() throws Exception {
        skiff = new SkiffUnderTest(gateway, serverPid);
        hostLine = SkiffUnderTest.hostLine(CgroupLayout.of(cgroupName, Long.toString(serverPid)));
        out.println("Skiff autoscaler benchmark, " + ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        out.println("host: " + hostLine);
        out.println("Skiff under test: " + skiff.gateway + ", pid " + serverPid + (serverLog == null ? "" : ", log " + serverLog));
        List<StepResult> results = new ArrayList<>();
        try {
            results = steps();
        } catch (Exception e) {
            problems.add("the benchmark failed: " + e);
            e.printStackTrace();
        }
        report(results);
        printSummary();
        return problems.isEmpty() ? 0 : 1;
    }

    String functionYaml() {
        return "concurrency: " + concurrency + ", maxScale: " + maxScale + ", scale: {stableWindow: " + stableWindow
                + ", scaleToZeroGrace: " + scaleToZeroGrace + "}";
    }

    // ------------------------------------------------------------------ the steps

    /** What the poller saw during one step; times in ms after the step (NaN: never). */
    static final class StepResult {
        int index;
        double settleSeconds;
        boolean settled;
        int readyBefore, desiredBefore;
        double firstScaleUp = Double.NaN, decision = Double.NaN, panic = Double.NaN, ready = Double.NaN, readyDesired = Double.NaN;
        double decisionLogged = Double.NaN, firstStartOrder = Double.NaN;
        int peakDesired, peakReady, replicasAtFirstScaleUp = -1, firstDesired = -1, stoppedDuringStep, coldStarts, autoscalerStarts = -1, startedBeforeDecision = -1, polls;
        double maxPollGap, otherCpu;
        long ok, failed;
        String firstError;
        Series latency = new Series("call latency");
    }

    record Sample(long atNanos, double desired, double panic, double ready, double starting, double coldStarts) {}

    List<StepResult> steps() throws Exception {
        Path fnDir = workDir.resolve("functions");
        SkiffUnderTest.writeFunction(fnDir, FUNCTION, String.format(Locale.ROOT, SLEEPER, sleepMillis / 1000.0),
                "concurrency: " + concurrency, "maxScale: " + maxScale,
                "scale:", "  stableWindow: " + stableWindow, "  scaleToZeroGrace: " + scaleToZeroGrace);
        heading("steps: " + steps + " x (" + baseClients + " -> " + stepClients + " clients for " + fmt(stepSeconds) + " s) on " + FUNCTION);
        out.println("  function " + FUNCTION + ": python, handler sleeps " + sleepMillis + " ms; " + functionYaml());
        out.println("  knobs that differ from Skiff's defaults: stableWindow " + stableWindow + " (default 60s) so that between steps the function"
                + " comes back down within seconds instead of minutes (panic mode also lasts a stableWindow after the last panicking decision);"
                + " panicWindow 6s, panicThreshold 2, target = concurrency, utilization 0.7 and the rates stay at their defaults");
        out.printf(Locale.ROOT, "  %d clients at concurrency %d need %d replicas (the threshold: decision = skiff_desired_replicas >= %d, capacity ="
                        + " skiff_replicas, ready ones only, >= %d); the autoscaler aims for ceil(%d / (%d x 0.7)) = %d%n",
                stepClients, concurrency, (stepClients + concurrency - 1) / concurrency, threshold, threshold, stepClients, concurrency,
                (int) Math.ceil(stepClients / (concurrency * 0.7)));
        out.println("  load: closed loop, one keep-alive HTTP/1.1 connection per client on a platform thread; " + baseClients
                + " client(s) all along, " + (stepClients - baseClients) + " more released at once at the step (t0)");
        out.println("  /q/metrics polled every " + pollMillis + " ms during a step; a time is when the poll that first saw it returned"
                + " (so up to one poll interval plus one fetch late); the autoscaler's own log line gives the decision to the ms");
        out.println("  " + KNATIVE);
        skiff.deploy(fnDir.resolve(FUNCTION), true);

        byte[] request = HttpLoad.post("/fn/" + FUNCTION, skiff.address.getHostString() + ":" + skiff.address.getPort(),
                "x".getBytes(StandardCharsets.US_ASCII));
        List<StepResult> results = new ArrayList<>();
        try (ClosedLoop base = ClosedLoop.start(skiff.address, request, baseClients)) {
            base.go();
            for (int i = 1; i <= steps; i++) {
                StepResult r = new StepResult();
                r.index = i;
                settle(r);
                skiff.waitQuiet(out, waitQuietSeconds);
                step(r, request);
                printStep(r);
                results.add(r);
            }
            base.stopAndJoin();
            if (base.failed.get() > 0) problems.add("the base load had " + base.failed.get() + " failed calls; first: " + base.firstError.get());
            out.printf(Locale.ROOT, "  base load (%d client(s) all along): %d calls, %d failed%n", baseClients, base.ok.get(), base.failed.get());
        }
        return results;
    }

    /** Waits until desired and actual (ready + starting) replicas are <= settleReplicas for 2 s, the base load running. */
    void settle(StepResult r) throws Exception {
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(settleTimeoutSeconds);
        long calmSince = -1;
        Sample s;
        while (true) {
            s = sample();
            boolean calm = !Double.isNaN(s.desired()) && s.desired() <= settleReplicas && s.ready() + s.starting() <= settleReplicas;
            long now = System.nanoTime();
            if (!calm) calmSince = -1;
            else if (calmSince < 0) calmSince = now;
            SkiffUnderTest.progress("  step %d: waiting for <= %d replicas: desired %s, ready %s, starting %s (%.0f s)", r.index, settleReplicas,
                    fmt(s.desired()), fmt(s.ready()), fmt(s.starting()), (now - start) / 1e9);
            if (calmSince >= 0 && now - calmSince >= TimeUnit.SECONDS.toNanos(2)) {
                r.settled = true;
                break;
            }
            if (now > deadline) break;
            Thread.sleep(250);
        }
        SkiffUnderTest.progressDone();
        r.settleSeconds = (System.nanoTime() - start) / 1e9;
        r.desiredBefore = (int) nz(s.desired());
        r.readyBefore = (int) nz(s.ready());
        if (!r.settled) {
            problems.add(String.format(Locale.ROOT, "step %d: desired/actual replicas did not come back to <= %d within %d s (desired %s, ready %s,"
                    + " starting %s); measured anyway", r.index, settleReplicas, settleTimeoutSeconds, fmt(s.desired()), fmt(s.ready()), fmt(s.starting())));
        }
    }

    void step(StepResult r, byte[] request) throws Exception {
        long logFrom = logSize();
        Sample s0 = sample();
        List<Sample> samples = new ArrayList<>();
        try (ClosedLoop load = ClosedLoop.start(skiff.address, request, stepClients - baseClients)) {
            // t0 is taken just before the step's clients are released (their connections are open already).
            CpuMeter cpu = CpuMeter.start(skiff::ourTicks);
            long t0 = System.nanoTime();
            LocalTime t0Wall = LocalTime.now();
            load.go();
            long end = t0 + (long) (stepSeconds * 1e9);
            long last = t0;
            while (System.nanoTime() < end) {
                Sample s = sample();
                samples.add(s);
                r.maxPollGap = Math.max(r.maxPollGap, (s.atNanos() - last) / 1e6);
                last = s.atNanos();
                SkiffUnderTest.progress("  step %d: +%.1f s desired %s, ready %s, starting %s", r.index, (s.atNanos() - t0) / 1e9,
                        fmt(s.desired()), fmt(s.ready()), fmt(s.starting()));
                long next = last + pollMillis * 1_000_000L;
                long wait = next - System.nanoTime();
                if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
            }
            load.stopAndJoin();
            r.otherCpu = cpu.otherPercent();
            SkiffUnderTest.progressDone();
            r.ok = load.ok.get();
            r.failed = load.failed.get();
            r.firstError = load.firstError.get();
            r.latency = load.latencies();
            analyse(r, t0, s0, samples);
            analyseLog(r, t0Wall, logFrom);
        }
        Sample after = sample();
        r.coldStarts = (int) Math.round(nz(after.coldStarts()) - nz(s0.coldStarts()) + nz(after.starting()));
        if (r.failed > 0) problems.add("step " + r.index + ": " + r.failed + " failed calls; first: " + r.firstError);
    }

    void analyse(StepResult r, long t0, Sample s0, List<Sample> samples) {
        r.polls = samples.size();
        for (Sample s : samples) {
            double at = (s.atNanos() - t0) / 1e6;
            r.peakDesired = Math.max(r.peakDesired, (int) nz(s.desired()));
            r.peakReady = Math.max(r.peakReady, (int) nz(s.ready()));
            if (Double.isNaN(r.firstScaleUp) && nz(s.desired()) != nz(s0.desired())) {
                r.firstScaleUp = at;
                r.firstDesired = (int) nz(s.desired());
                r.replicasAtFirstScaleUp = (int) (s.ready() + s.starting());
            }
            if (Double.isNaN(r.panic) && s.panic() >= 1) r.panic = at;
            if (Double.isNaN(r.decision) && s.desired() >= threshold) {
                r.decision = at;
                r.startedBeforeDecision = (int) Math.round(nz(s.coldStarts()) - nz(s0.coldStarts()) + nz(s.starting()));
            }
            if (Double.isNaN(r.ready) && s.ready() >= threshold) r.ready = at;
        }
        // Capacity for what the autoscaler finally asked for (its peak in this step).
        for (Sample s : samples) {
            if (r.peakDesired > 0 && s.ready() >= Math.min(r.peakDesired, maxScale)) {
                r.readyDesired = (s.atNanos() - t0) / 1e6;
                break;
            }
        }
    }

    static final Pattern WANTED = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*AutoscalerRole\\] " + FUNCTION + ": (\\d+) replicas wanted");
    static final Pattern STARTING = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*\\] " + FUNCTION + ": desired (\\d+) replicas.*, starting (\\d+)");
    static final Pattern STOPPING = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*\\] " + FUNCTION + ": desired (\\d+) replicas.*, stopping (\\d+)");

    /** The server log written during the step: the autoscaler's decisions (to the ms) and the replicas its decisions started. */
    void analyseLog(StepResult r, LocalTime t0Wall, long from) throws IOException {
        if (serverLog == null) return;
        r.autoscalerStarts = 0;
        for (String line : readLog(from).split("\n")) {
            Matcher m = WANTED.matcher(line);
            if (m.find() && Double.isNaN(r.decisionLogged) && Integer.parseInt(m.group(2)) >= threshold) r.decisionLogged = sinceT0(t0Wall, m.group(1));
            m = STOPPING.matcher(line);
            if (m.find() && sinceT0(t0Wall, m.group(1)) <= stepSeconds * 1000) r.stoppedDuringStep += Integer.parseInt(m.group(3));
            m = STARTING.matcher(line);
            if (m.find()) {
                r.autoscalerStarts += Integer.parseInt(m.group(3));
                if (Double.isNaN(r.firstStartOrder)) r.firstStartOrder = sinceT0(t0Wall, m.group(1));
            }
        }
    }

    /** Milliseconds from t0 to a log time of day (HH:mm:ss.SSS, this machine's zone), across midnight. */
    static double sinceT0(LocalTime t0, String logTime) {
        long d = LocalTime.parse(logTime).get(ChronoField.MILLI_OF_DAY) - t0.get(ChronoField.MILLI_OF_DAY);
        if (d < -43_200_000L) d += 86_400_000L;
        if (d > 43_200_000L) d -= 86_400_000L;
        return d;
    }

    long logSize() throws IOException {
        return serverLog == null ? 0 : Files.size(serverLog);
    }

    String readLog(long from) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(serverLog.toFile(), "r")) {
            long len = f.length() - from;
            if (len <= 0) return "";
            byte[] b = new byte[(int) Math.min(len, 16 << 20)];
            f.seek(from);
            f.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    Sample sample() throws Exception {
        String m = skiff.metricsText();
        long at = System.nanoTime();
        return new Sample(at, SkiffUnderTest.metric(m, "skiff_desired_replicas", FUNCTION), nz(SkiffUnderTest.metric(m, "skiff_autoscaler_panic", FUNCTION)),
                nz(SkiffUnderTest.metric(m, "skiff_replicas", FUNCTION)), nz(SkiffUnderTest.metric(m, "skiff_replicas_starting", FUNCTION)),
                nz(SkiffUnderTest.metric(m, "skiff_cold_start_duration_seconds_count", FUNCTION)));
    }

    // ------------------------------------------------------------------ the load

    /** Closed-loop clients on platform threads, each with one keep-alive connection, until stopped. */
    static final class ClosedLoop implements AutoCloseable {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong ok = new AtomicLong(), failed = new AtomicLong();
        final AtomicReference<String> firstError = new AtomicReference<>();
        final CountDownLatch go = new CountDownLatch(1);
        final List<Thread> threads = new ArrayList<>();
        final List<long[]> perClient = new ArrayList<>();

        static ClosedLoop start(InetSocketAddress address, byte[] request, int clients) throws IOException {
            ClosedLoop l = new ClosedLoop();
            List<HttpLoad.Connection> conns = new ArrayList<>();
            try {
                for (int i = 0; i < clients; i++) conns.add(HttpLoad.Connection.open(address));
            } catch (IOException e) {
                conns.forEach(HttpLoad.Connection::close);
                throw e;
            }
            for (HttpLoad.Connection c : conns) l.threads.add(Thread.ofPlatform().name("client").start(() -> l.client(address, request, c)));
            return l;
        }

        void client(InetSocketAddress address, byte[] request, HttpLoad.Connection first) {
            HttpLoad.Connection c = first;
            long[] lat = new long[1024];
            int n = 0;
            try {
                go.await();
                while (!stop.get()) {
                    long t0 = System.nanoTime();
                    try {
                        if (c == null) c = HttpLoad.Connection.open(address);
                        int status = c.exchange(request);
                        if (status == 200) {
                            ok.incrementAndGet();
                            if (n == lat.length) lat = java.util.Arrays.copyOf(lat, n * 2);
                            lat[n++] = System.nanoTime() - t0;
                        } else {
                            failed.incrementAndGet();
                            firstError.compareAndSet(null, "status " + status + ": " + c.bodyText());
                        }
                    } catch (IOException e) {
                        failed.incrementAndGet();
                        firstError.compareAndSet(null, e.toString());
                        if (c != null) c.close();
                        c = null;
                        Thread.sleep(10);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                if (c != null) c.close();
                synchronized (perClient) {
                    perClient.add(java.util.Arrays.copyOf(lat, n));
                }
            }
        }

        void go() {
            go.countDown();
        }

        void stopAndJoin() throws InterruptedException {
            stop.set(true);
            go.countDown();
            for (Thread t : threads) t.join();
        }

        Series latencies() {
            Series s = new Series("call latency");
            synchronized (perClient) {
                for (long[] l : perClient) for (long v : l) s.add(v);
            }
            return s;
        }

        @Override
        public void close() throws InterruptedException {
            stopAndJoin();
        }
    }

    // ------------------------------------------------------------------ printing

    void printStep(StepResult r) {
        out.printf(Locale.ROOT, "  step %d (settled in %.0f s%s: desired %d, ready %d): first decision after the step +%s ms (desired %d), desired >= %d +%s ms (log: +%s ms),"
                        + " panic +%s ms, ready >= %d +%s ms, ready >= peak desired %d +%s ms; peak ready %d; cold starts %d (by decisions %s);"
                        + " calls %d ok, %d failed, latency p50 %s ms, p99 %s ms; %d polls, largest gap %.0f ms; other work took %.0f%% of the CPUs%n",
                r.index, r.settleSeconds, r.settled ? "" : ", NOT SETTLED", r.desiredBefore, r.readyBefore, ms(r.firstScaleUp), r.firstDesired, threshold, ms(r.decision),
                ms(r.decisionLogged), ms(r.panic), threshold, ms(r.ready), r.peakDesired, ms(r.readyDesired), r.peakReady, r.coldStarts,
                r.autoscalerStarts < 0 ? "?" : Integer.toString(r.autoscalerStarts), r.ok, r.failed, Series.ms(r.latency.p(50)),
                Series.ms(r.latency.p(99)), r.polls, r.maxPollGap, r.otherCpu);
    }

    void report(List<StepResult> rs) {
        heading("results");
        List<String> table = new ArrayList<>();
        table.add("| step | settle s | first decision after the step: ms (desired) | desired ≥ " + threshold + " ms (poll) | (log) | panic ms | ready ≥ " + threshold
                + " ms | ready ≥ peak desired ms | peak desired / ready | cold starts: calls / decisions | started by calls before the decision"
                + " | calls ok / failed | p50 / p99 ms | other work's CPU |");
        table.add("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (StepResult r : rs) {
            String starts = r.autoscalerStarts < 0 ? r.coldStarts + " / ?" : (r.coldStarts - r.autoscalerStarts) + " / " + r.autoscalerStarts;
            table.add(String.format(Locale.ROOT, "| %d | %.0f%s | %s (%d) | %s | %s | %s | %s | %s (%d) | %d / %d | %s | %s | %d / %d | %s / %s | %.0f%% |",
                    r.index, r.settleSeconds, r.settled ? "" : " (not settled)", ms(r.firstScaleUp), r.firstDesired, ms(r.decision), ms(r.decisionLogged), ms(r.panic),
                    ms(r.ready), ms(r.readyDesired), r.peakDesired, r.peakDesired, r.peakReady, starts,
                    r.startedBeforeDecision < 0 ? "-" : Integer.toString(r.startedBeforeDecision), r.ok, r.failed,
                    Series.ms(r.latency.p(50)), Series.ms(r.latency.p(99)), r.otherCpu));
        }
        table.forEach(l -> out.println("  " + l));

        double decisionP50 = p50(rs, r -> r.decision), decisionMax = max(rs, r -> r.decision);
        double loggedP50 = p50(rs, r -> r.decisionLogged), loggedMax = max(rs, r -> r.decisionLogged);
        double readyP50 = p50(rs, r -> r.ready), readyMax = max(rs, r -> r.ready);
        double readyDesiredP50 = p50(rs, r -> r.readyDesired), readyDesiredMax = max(rs, r -> r.readyDesired);
        long failed = rs.stream().mapToLong(r -> r.failed).sum(), ok = rs.stream().mapToLong(r -> r.ok).sum();
        double otherMax = rs.stream().mapToDouble(r -> r.otherCpu).max().orElse(0);
        String decisionVerdict = verdict(decisionP50, decisionTarget);
        String readyVerdict = verdict(readyP50, readyTarget);
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "(a) decision (skiff_desired_replicas ≥ %d, polled): p50 %s ms, max %s ms over %d steps (autoscaler's log line: p50 %s ms,"
                + " max %s ms); target ≤ %.0f s: %s", threshold, ms(decisionP50), ms(decisionMax), rs.size(), ms(loggedP50), ms(loggedMax), decisionTarget, decisionVerdict));
        lines.add(String.format(Locale.ROOT, "(b) capacity ready (skiff_replicas ≥ %d, ready replicas only): p50 %s ms, max %s ms; target ≤ %.0f s: %s",
                threshold, ms(readyP50), ms(readyMax), readyTarget, readyVerdict));
        lines.add(String.format(Locale.ROOT, "    ready ≥ the autoscaler's peak desired count (~%d): p50 %s ms, max %s ms",
                rs.stream().mapToInt(r -> r.peakDesired).max().orElse(0), ms(readyDesiredP50), ms(readyDesiredMax)));
        lines.add(String.format(Locale.ROOT, "calls during the steps: %d ok, %d failed (must be 0): %s", ok, failed, failed == 0 ? "OK" : "FAILED"));
        lines.add(String.format(Locale.ROOT, "other work on the machine took at most %.0f%% of the CPUs during a step%s", otherMax,
                otherMax > 15 ? " (a busy step is slower than on a quiet machine: see the table's last column)" : ""));
        if (!rs.isEmpty() && rs.stream().allMatch(r -> Double.isNaN(r.panic))) {
            int least = rs.stream().mapToInt(r -> r.replicasAtFirstScaleUp).filter(n -> n >= 0).min().orElse(0);
            double firstP50 = p50(rs, r -> r.firstScaleUp);
            double usable = concurrency * 0.7;
            lines.add(String.format(Locale.ROOT, "no panic in any step: the autoscaler counts warm + starting replicas as current, and when its first"
                    + " decision after the step came (p50 +%s ms) the calls had already %d or more ready or starting, so the panic window's demand (at most %d clients / %.1f = %.0f replicas)"
                    + " never reached panicThreshold 2 x current; outside panic the count goes up on the panic window's demand"
                    + " (and comes down only on the stable window's)", ms(firstP50), least, stepClients, usable,
                    Math.ceil(stepClients / usable)));
        }
        List<StepResult> lower = rs.stream().filter(r -> r.firstDesired >= 0 && r.firstDesired < r.replicasAtFirstScaleUp).toList();
        int below = lower.size();
        if (below > 0) {
            lines.add(String.format(Locale.ROOT, "in %d of %d steps the first decision after the step asked for fewer replicas than the calls had already"
                    + " started (e.g. %d of %d: the sample it saw showed only part of the step); replicas stopped by decisions"
                    + " while the step's load ran: %d (the invoker stops only idle ones, and at %d clients on %d slots each none is idle)",
                    below, rs.size(), lower.get(0).firstDesired, lower.get(0).replicasAtFirstScaleUp, rs.stream().mapToInt(r -> r.stoppedDuringStep).sum(),
                    stepClients, concurrency));
        }
        lines.add(KNATIVE + ": at a 2 s tick a step waits up to 2 s (1 s on average) for the next decision alone; Skiff decides every 1 s"
                + " and its invokers sample every 250 ms.");
        out.println();
        lines.forEach(l -> out.println("  " + l));
        out.println();
        out.println("  who started the replicas: a call that finds no free slot cold-starts one at once (a call waits for a replica already"
                + " starting when one of its slots is unclaimed), so " + stepClients + " clients at concurrency " + concurrency + " start about "
                + (stepClients + concurrency - 1) / concurrency + " replicas by themselves, before any decision; decisions start the rest"
                + " (\"cold starts: calls / decisions\": decisions' starts counted from the invoker's \"desired N replicas ..., starting K\" log lines,"
                + " the rest from skiff_cold_start_duration_seconds_count + skiff_replicas_starting)");

        summary.add("");
        summary.add("Function `" + FUNCTION + "`: python, handler sleeps " + sleepMillis + " ms, " + functionYaml() + " (stableWindow shortened from 60s"
                + " so the function comes back down between steps; panicWindow stays 6s, everything else default). " + steps + " steps from "
                + baseClients + " to " + stepClients + " closed-loop keep-alive clients for " + fmt(stepSeconds) + " s, each after desired and"
                + " actual replicas were back to ≤ " + settleReplicas + ". /q/metrics polled every " + pollMillis + " ms (a time is when the poll"
                + " that saw it returned); the decision also from the autoscaler's log line (ms).");
        summary.add("");
        summary.addAll(table);
        summary.add("");
        for (String l : lines) summary.add("- " + l.trim());
        summary.add("- Capacity after a step comes from both paths: calls cold-start replicas at once when they find no free slot (about "
                + (stepClients + concurrency - 1) / concurrency + " for " + stepClients + " clients at concurrency " + concurrency
                + "), the autoscaler's decisions start the rest up to its target; the table splits the cold starts.");
    }

    static String verdict(double p50, double targetSeconds) {
        if (Double.isNaN(p50)) return "MISSED (never reached)";
        return (p50 <= targetSeconds * 1000 ? "MET" : "MISSED") + String.format(Locale.ROOT, " (p50 %s ms)", ms(p50));
    }

    /** p50 (nearest rank) over the steps; a step that never got there counts as infinitely late. */
    static double p50(List<StepResult> rs, ToDoubleFunction<StepResult> f) {
        if (rs.isEmpty()) return Double.NaN;
        double[] v = rs.stream().mapToDouble(f).map(x -> Double.isNaN(x) ? Double.POSITIVE_INFINITY : x).sorted().toArray();
        double p = v[(int) Math.ceil(0.5 * v.length) - 1];
        return Double.isInfinite(p) ? Double.NaN : p;
    }

    static double max(List<StepResult> rs, ToDoubleFunction<StepResult> f) {
        double m = Double.NaN;
        for (StepResult r : rs) {
            double x = f.applyAsDouble(r);
            if (Double.isNaN(x)) return Double.NaN;
            m = Double.isNaN(m) ? x : Math.max(m, x);
        }
        return m;
    }

    void printSummary() {
        Report.summary(out, "Autoscaler benchmark", hostLine, repro, summary, problems);
    }

    void heading(String title) {
        Report.heading(out, title);
    }

    static String ms(double v) {
        return Double.isNaN(v) ? "never" : String.format(Locale.ROOT, "%.0f", v);
    }

    static String fmt(double v) {
        return Double.isNaN(v) ? "-" : v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    static double nz(double v) {
        return Double.isNaN(v) ? 0 : v;
    }
}
