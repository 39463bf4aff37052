package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** PID namespace attacks: host processes can be neither seen nor signalled; PID 1 does its duties. */
class PidNamespaceTest {
    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void hostProcessesCannotBeSignalled() throws Exception {
        long host = ProcessHandle.current().pid();
        var r = SandboxTestSupport.python("kill-host", """
                import os, errno
                for pid in (%d,):
                    try:
                        os.kill(pid, 0)
                        print(pid, "reachable")
                    except OSError as e:
                        print(pid, errno.errorcode[e.errno])
                """.formatted(host));
        // The host PID does not exist in the sandbox's PID namespace (ESRCH), whatever its number.
        assertTrue(r.stdout().contains(host + " ESRCH"), r.stdout() + r.stderr());
        assertTrue(ProcessHandle.current().isAlive());
    }

    @Test
    void orphansAreReapedByInit() throws Exception {
        // A grandchild that outlives its parent is re-parented to PID 1 and must not stay a zombie.
        var r = SandboxTestSupport.sh("reaper",
                "sh -c 'sleep 0.2 &' ; sleep 0.8; grep -l '^State:.*Z' /proc/[0-9]*/status | wc -l");
        assertEquals(0, r.exit().code(), r.stderr());
        assertEquals("0", r.stdout().trim(), "zombies left: " + r.stdout());
    }

    @Test
    void sigtermReachesTheFunction() throws Exception {
        var spec = SandboxTestSupport.spec("sigterm").command("/usr/bin/python3", "-u", "-c", """
                import signal, sys, time
                def bye(*_):
                    print("got SIGTERM")
                    sys.exit(0)
                signal.signal(signal.SIGTERM, bye)
                print("ready")
                time.sleep(30)
                print("not interrupted")
                """).build();
        Sandbox s = SandboxTestSupport.runtime().start(spec);
        try {
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(s.stdout()));
            assertEquals("ready", out.readLine(), "python installed its SIGTERM handler");
            s.signal(Linux.SIGTERM);
            Sandbox.Exit exit = s.onExit().get(10, TimeUnit.SECONDS);
            assertEquals(0, exit.code(), "the function exited through its own handler");
            assertEquals("got SIGTERM", out.readLine());
        } finally {
            s.destroy();
        }
    }
}
