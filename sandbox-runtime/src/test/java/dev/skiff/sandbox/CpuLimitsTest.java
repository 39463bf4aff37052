package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A CPU quota holds, and a CPU hog in one sandbox leaves another responsive. */
class CpuLimitsTest {
    static final String HOG = """
            import threading, time
            end = time.time() + %s
            def spin():
                while time.time() < end:
                    pass
            ts = [threading.Thread(target=spin) for _ in range(4)]
            [t.start() for t in ts]
            [t.join() for t in ts]
            """;

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void quotaCapsCpuTimeAndNeighboursStayResponsive() throws Exception {
        var hogSpec = SandboxTestSupport.spec("hog")
                .limits(new Limits(64L << 20, 64, 500)) // half a CPU
                .command("/usr/bin/python3", "-c", HOG.formatted("3")).build();
        Sandbox hog = SandboxTestSupport.runtime().start(hogSpec);
        try {
            Thread.sleep(500);
            long started = System.nanoTime();
            var neighbour = SandboxTestSupport.python("neighbour", "print(sum(range(2_000_000)))");
            long neighbourMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            assertTrue(neighbour.exit().code() == 0, neighbour.stderr());
            assertTrue(neighbourMs < 2000, "the neighbour took " + neighbourMs + " ms beside the hog");
            hog.onExit().get(20, TimeUnit.SECONDS);
            double cpuSeconds = hog.stats().cpuNanos() / 1e9;
            // 4 spinning threads for 3 s would use ~6 CPU-seconds on 2 cores; the quota allows ~1.5.
            assertTrue(cpuSeconds > 0.5 && cpuSeconds < 2.2, "hog used " + cpuSeconds + " CPU-seconds");
        } finally {
            hog.destroy();
        }
    }

    @Test
    void statsReportMemoryAndCpu() throws Exception {
        var spec = SandboxTestSupport.spec("stats")
                .command("/usr/bin/python3", "-c", "x = bytearray(20 << 20)\nimport time\nt=time.time()\nwhile time.time()-t < 0.3: pass\nprint('ok', flush=True)\ntime.sleep(5)")
                .build();
        Sandbox s = SandboxTestSupport.runtime().start(spec);
        try {
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(s.stdout()));
            assertTrue("ok".equals(out.readLine()));
            SandboxStats st = s.stats();
            assertTrue(st.memoryBytes() > 20L << 20, "memory in use " + st.memoryBytes());
            assertTrue(st.memoryPeakBytes() >= st.memoryBytes(), "peak " + st.memoryPeakBytes());
            assertTrue(st.cpuNanos() > 50_000_000L, "the 0.3 s busy loop shows as CPU time: " + st.cpuNanos());
            assertTrue(st.oomKills() == 0);
        } finally {
            s.destroy();
        }
    }

    @Test
    void cpuWeightSetsTheShareUnderContention() throws Exception {
        Sandbox s = SandboxTestSupport.runtime().start(SandboxTestSupport.spec("weight")
                .limits(new Limits(64L << 20, 64, 0, 50)).command("/bin/sleep", "5").build());
        try {
            try (var files = java.nio.file.Files.walk(java.nio.file.Path.of("/sys/fs/cgroup"), 8)) {
                var shares = files.filter(p -> p.toString().endsWith("/weight/cpu.shares") || p.toString().endsWith("/weight/cpu.weight")).findFirst();
                assertTrue(shares.isPresent(), "the sandbox has a cpu weight file");
                String v = java.nio.file.Files.readString(shares.get()).trim();
                assertTrue(v.equals("512") || v.equals("50"), "weight 50 is cpu.shares 512 (v1) or cpu.weight 50 (v2): " + v);
            }
        } finally {
            s.destroy();
        }
    }
}
