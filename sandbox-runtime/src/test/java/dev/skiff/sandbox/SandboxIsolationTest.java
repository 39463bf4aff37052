package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The isolation a function gets, checked from inside a real sandbox (as root, in CI). */
class SandboxIsolationTest {
    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void ownPidNamespaceShowsOnlyTheSandboxProcesses() throws Exception {
        var r = SandboxTestSupport.sh("pidns", "echo $$; ls /proc | grep -E '^[0-9]+$' | wc -l");
        assertEquals(0, r.exit().code(), r.stderr());
        String[] lines = r.stdout().trim().split("\n");
        assertEquals("2", lines[0], "the function is PID 2, under skiff-init as PID 1");
        assertTrue(Integer.parseInt(lines[1].trim()) <= 5, "only init, sh and its 3-command pipeline are visible: " + r.stdout());
    }

    @Test
    void ownHostnameAndLoopbackOnlyNetwork() throws Exception {
        var r = SandboxTestSupport.sh("uts", "hostname; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
        assertEquals(0, r.exit().code(), r.stderr());
        assertEquals("sbx-uts\nlo", r.stdout().trim());
    }

    @Test
    void readOnlyRootWritableTmp() throws Exception {
        var r = SandboxTestSupport.sh("mnt",
                "touch /usr/x 2>/dev/null && echo usr-writable; touch /x 2>/dev/null && echo root-writable;"
                        + " echo hi > /tmp/f && cat /tmp/f");
        assertEquals(0, r.exit().code(), r.stderr());
        assertEquals("hi", r.stdout().trim());
    }

    @Test
    void unprivilegedUserWithoutCapabilities() throws Exception {
        var r = SandboxTestSupport.sh("user", "id -u; id -g; grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status | cut -f2");
        assertEquals(0, r.exit().code(), r.stderr());
        assertEquals("65534\n65534\n0000000000000000\n0000000000000000\n0000000000000000", r.stdout().trim());
    }

    @Test
    void hostFilesystemIsNotVisible() throws Exception {
        var r = SandboxTestSupport.sh("hostfs", "ls /; ls /root 2>&1; ls /home 2>&1 | head -1");
        assertFalse(r.stdout().contains("work"), r.stdout());
        assertTrue(r.stdout().contains("No such file"), r.stdout());
    }

    @Test
    void exitStatusPassesThrough() throws Exception {
        assertEquals(7, SandboxTestSupport.sh("status", "exit 7").exit().code());
        assertEquals(128 + 9, SandboxTestSupport.sh("signal", "kill -9 $$").exit().code());
    }

    @Test
    void ownIpcUtsCgroupAndNetNamespaces() throws Exception {
        String host = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/ipc")) + " "
                + java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/uts")) + " "
                + java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/cgroup")) + " "
                + java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/net")) + " "
                + java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/mnt"));
        var r = SandboxTestSupport.sh("ns", "for n in ipc uts cgroup net mnt; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup");
        assertEquals(0, r.exit().code(), r.stderr());
        for (String line : r.stdout().lines().limit(5).toList()) {
            assertFalse(host.contains(line), line + " is the host's namespace");
        }
        // In its own cgroup namespace the sandbox's cgroup is its root.
        assertTrue(r.stdout().lines().skip(5).allMatch(l -> l.endsWith(":/")), r.stdout());
    }

    @Test
    void rlimitsAreSet() throws Exception {
        var r = SandboxTestSupport.sh("rlimits", "ulimit -c; ulimit -n");
        assertEquals("0\n1024", r.stdout().trim(), "no core dumps, 1024 open files");
    }
}
