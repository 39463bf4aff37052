package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The cgroup limits really hold (as root, in CI; cgroup v1 on our machines). */
class SandboxLimitsTest {
    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void exceedingTheMemoryLimitIsReportedAsOutOfMemory() throws Exception {
        var spec = SandboxTestSupport.spec("oom")
                .limits(new Limits(32L << 20, 64, 0))
                .command("/usr/bin/python3", "-c", "x = bytearray(256 << 20); print('survived')")
                .build();
        var r = SandboxTestSupport.run(spec);
        assertTrue(r.exit().oomKilled(), "expected an OOM kill, got " + r.exit() + " " + r.stderr());
        assertFalse(r.stdout().contains("survived"));
    }

    @Test
    void pidsLimitStopsForks() throws Exception {
        var spec = SandboxTestSupport.spec("pids")
                .limits(new Limits(64L << 20, 8, 0))
                .command("/usr/bin/python3", "-c", String.join("\n",
                        "import os, time",
                        "n = 0",
                        "for i in range(30):",
                        "    try:",
                        "        pid = os.fork()",
                        "    except OSError as e:",
                        "        print('refused after', n)",
                        "        break",
                        "    if pid == 0:",
                        "        time.sleep(3)",
                        "        os._exit(0)",
                        "    n += 1",
                        "else:",
                        "    print('all forks succeeded')"))
                .build();
        var r = SandboxTestSupport.run(spec);
        assertTrue(r.stdout().startsWith("refused after"), r.stdout() + r.stderr());
        int forked = Integer.parseInt(r.stdout().trim().substring("refused after ".length()));
        assertTrue(forked <= 6, "8 pids minus init and python leave at most 6 children: " + forked);
    }

    @Test
    void fileSizeLimitStopsWritesPastIt() throws Exception {
        // Python ignores SIGXFSZ, so the write past the limit fails with EFBIG; sh does not, and
        // is killed by it. Without a limit the same 2 MiB write succeeds.
        var python = SandboxTestSupport.run(SandboxTestSupport.spec("fsize-py")
                .fileSizeLimit(1 << 20)
                .command("/usr/bin/python3", "-c", String.join("\n",
                        "import errno",
                        "try:",
                        "    open('/tmp/big', 'wb').write(bytes(2 << 20))",
                        "    print('wrote all')",
                        "except OSError as e:",
                        "    print(errno.errorcode[e.errno])"))
                .build());
        assertEquals("EFBIG", python.stdout().trim(), python.stderr());
        var sh = SandboxTestSupport.run(SandboxTestSupport.spec("fsize-sh")
                .fileSizeLimit(1 << 20)
                .command("/bin/sh", "-c", "exec head -c 2097152 /dev/zero > /tmp/big")
                .build());
        assertEquals(128 + 25, sh.exit().code(), "SIGXFSZ: " + sh.stdout() + sh.stderr());
        var unlimited = SandboxTestSupport.sh("fsize-none", "head -c 2097152 /dev/zero > /tmp/big && wc -c < /tmp/big");
        assertEquals("2097152", unlimited.stdout().trim(), unlimited.stderr());
    }

    @Test
    void destroyRemovesCgroupAndStateDirectory() throws Exception {
        var runtime = SandboxTestSupport.runtime();
        Sandbox s = runtime.start(SandboxTestSupport.spec("gone").command("/bin/sleep", "100").build());
        long pid = s.pid();
        assertTrue(ProcessHandle.of(pid).isPresent());
        s.destroy();
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        try (var dirs = java.nio.file.Files.walk(java.nio.file.Path.of("/sys/fs/cgroup"), 6)) {
            assertEquals(0, dirs.filter(p -> p.getFileName() != null && p.getFileName().toString().equals("gone")).count());
        }
    }
}
