package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The default network is loopback only: nothing on the host, its loopback included, can be reached. */
class NetworkIsolationTest {
    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void hostLoopbackServicesAreUnreachable() throws Exception {
        try (ServerSocket host = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            var r = SandboxTestSupport.python("netns", """
                    import socket
                    for addr in ("127.0.0.1",):
                        s = socket.socket()
                        s.settimeout(1)
                        try:
                            s.connect((addr, %d))
                            print(addr, "CONNECTED")
                        except OSError as e:
                            print(addr, type(e).__name__, e.errno)
                        finally:
                            s.close()
                    print(open("/proc/net/route").read().count("\\n") - 1, "routes")
                    """.formatted(host.getLocalPort()));
            assertTrue(!r.stdout().contains("CONNECTED"), r.stdout() + r.stderr());
            assertTrue(r.stdout().contains("127.0.0.1 ConnectionRefusedError"), r.stdout());
            assertTrue(r.stdout().contains("0 routes"), "no route leaves the sandbox: " + r.stdout());
        }
    }
}
