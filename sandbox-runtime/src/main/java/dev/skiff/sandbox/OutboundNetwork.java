package dev.skiff.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Outbound network for a sandbox that asks for it: slirp4netns (what rootless Podman uses) gives
 * the sandbox's network namespace a tap device behind a user-mode NAT. Connections go out through
 * the host's own sockets, so nothing is bridged or routed into the sandbox, no iptables rule is
 * needed, and --disable-host-loopback keeps the host's 127.0.0.1 out of reach.
 *
 * <p>slirp4netns gets the runtime's lifeline as fd 3 and --exit-fd=3, so it dies with the JVM too.
 */
final class OutboundNetwork {
    static final String INTERFACE = "tap0";
    /** slirp4netns's built-in DNS forwarder. */
    static final String RESOLV_CONF = "nameserver 10.0.2.3\n";
    private static final Path BINARY = Path.of("/usr/bin/slirp4netns");

    private OutboundNetwork() {}

    static String whatIsMissing() {
        return Files.isExecutable(BINARY) ? null
                : "outbound network needs slirp4netns (apt-get install slirp4netns)";
    }

    /** Attaches slirp4netns to the network namespace of {@code initPid}; returns its PID. */
    static long attach(long initPid, int lifeline) throws IOException {
        Spawn.Child slirp = Spawn.spawn(List.of(BINARY.toString(), "--configure", "--mtu=65520", "--disable-host-loopback",
                "--exit-fd=3", Long.toString(initPid), INTERFACE), lifeline, false);
        discard(slirp.stdout());
        discard(slirp.stderr());
        return slirp.pid();
    }

    /** slirp4netns says a few lines at start; its pipes must be drained or it would block. */
    private static void discard(InputStream in) {
        Thread.ofPlatform().daemon().stackSize(64 * 1024).name("slirp4netns-output").start(() -> {
            try (in) {
                in.transferTo(java.io.OutputStream.nullOutputStream());
            } catch (IOException ignored) {
                // gone
            }
        });
    }

    static void detach(long pid) {
        NativeSyscalls.kill(pid, Linux.SIGKILL);
        Spawn.reap(pid);
    }
}
