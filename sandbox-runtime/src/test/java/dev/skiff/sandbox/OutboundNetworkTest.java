package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * network: outbound. The "outside world" is a test host we make ourselves: a network namespace
 * joined to the host by a veth pair, running a tiny TCP server. An outbound sandbox reaches it;
 * a default sandbox does not; neither reaches the host's loopback.
 */
class OutboundNetworkTest {
    static final String NS = "skiff-peer-" + ProcessHandle.current().pid();
    static final String HOST_IF = "skh" + (ProcessHandle.current().pid() % 100000);
    static final String PEER_IF = "skp" + (ProcessHandle.current().pid() % 100000);
    static final String PEER_IP = "10.213.7.2";
    static final int PORT = 7777;
    static Process server;

    @BeforeAll
    static void peerHost() throws Exception {
        RequiresRoot.check();
        String missing = OutboundNetwork.whatIsMissing();
        if (missing != null) {
            // Like RequiresRoot: a failure under CI=true (scripts/setup installs it), a skip elsewhere.
            if ("true".equalsIgnoreCase(System.getenv("CI"))) org.junit.jupiter.api.Assertions.fail("CI=true and " + missing);
            org.junit.jupiter.api.Assumptions.assumeTrue(false, missing);
        }
        sh("ip", "netns", "add", NS);
        sh("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", PEER_IF);
        sh("ip", "link", "set", PEER_IF, "netns", NS);
        sh("ip", "addr", "add", "10.213.7.1/30", "dev", HOST_IF);
        sh("ip", "link", "set", HOST_IF, "up");
        sh("ip", "netns", "exec", NS, "ip", "addr", "add", PEER_IP + "/30", "dev", PEER_IF);
        sh("ip", "netns", "exec", NS, "ip", "link", "set", PEER_IF, "up");
        sh("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up");
        server = new ProcessBuilder("ip", "netns", "exec", NS, "/usr/bin/python3", "-c", """
                import socket
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("%s", %d))
                s.listen(16)
                print("listening", flush=True)
                while True:
                    c, _ = s.accept()
                    c.sendall(b"pong from the outside")
                    c.close()
                """.formatted(PEER_IP, PORT)).redirectErrorStream(true).start();
        String first = new java.io.BufferedReader(new java.io.InputStreamReader(server.getInputStream())).readLine();
        assertEquals("listening", first);
    }

    @AfterAll
    static void removePeer() throws Exception {
        if (server != null) server.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        new ProcessBuilder("ip", "netns", "del", NS).start().waitFor(5, TimeUnit.SECONDS);
        new ProcessBuilder("ip", "link", "del", HOST_IF).start().waitFor(5, TimeUnit.SECONDS);
    }

    static void sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new IOException(String.join(" ", cmd) + ": " + out);
    }

    static final String PROBE = """
            import socket
            for name, addr in (("peer", ("%s", %d)), ("host-loopback", ("10.0.2.2", %d)), ("loopback", ("127.0.0.1", %d))):
                s = socket.socket()
                s.settimeout(3)
                try:
                    s.connect(addr)
                    print(name, s.recv(100).decode() or "connected")
                except OSError as e:
                    print(name, "unreachable", type(e).__name__)
                finally:
                    s.close()
            """;

    @Test
    void outboundReachesTheOutsideButNotTheHost() throws Exception {
        try (ServerSocket hostLoopback = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String probe = PROBE.formatted(PEER_IP, PORT, hostLoopback.getLocalPort(), hostLoopback.getLocalPort());
            var outbound = SandboxTestSupport.run(SandboxTestSupport.spec("outbound")
                    .network(SandboxSpec.Network.OUTBOUND)
                    .command("/usr/bin/python3", "-c", probe).build());
            assertTrue(outbound.stdout().contains("peer pong from the outside"), outbound.stdout() + outbound.stderr());
            assertTrue(outbound.stdout().contains("host-loopback unreachable"), outbound.stdout());
            assertTrue(outbound.stdout().contains("loopback unreachable"), outbound.stdout());

            var isolated = SandboxTestSupport.run(SandboxTestSupport.spec("isolated")
                    .command("/usr/bin/python3", "-c", probe).build());
            assertTrue(isolated.stdout().contains("peer unreachable"), isolated.stdout() + isolated.stderr());
            assertTrue(isolated.stdout().contains("host-loopback unreachable"), isolated.stdout());
        }
    }

    @Test
    void slirpHelperGoesAwayWithTheSandbox() throws Exception {
        Sandbox s = SandboxTestSupport.runtime().start(SandboxTestSupport.spec("slirp-gone")
                .network(SandboxSpec.Network.OUTBOUND).command("/bin/sleep", "30").build());
        long helpers = slirpCount();
        assertTrue(helpers >= 1, "slirp4netns runs beside the sandbox");
        s.destroy();
        assertEquals(helpers - 1, slirpCount(), "slirp4netns stopped with the sandbox");
    }

    static long slirpCount() {
        return ProcessHandle.allProcesses().filter(p -> p.info().command().orElse("").endsWith("slirp4netns")).count();
    }
}
