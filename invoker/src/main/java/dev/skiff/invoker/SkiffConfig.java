package dev.skiff.invoker;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;

/** Node-wide settings (application.properties, -Dskiff.…, or SKIFF_… environment variables). */
@ConfigMapping(prefix = "skiff")
public interface SkiffConfig {
    /** Durable state: deployed functions. Survives restarts. */
    @WithDefault("/var/lib/skiff")
    Path dataDir();

    /** Per-sandbox scratch state (staging roots, sockets); lost on reboot, which is right. */
    @WithDefault("/run/skiff")
    Path stateDir();

    /**
     * Name of the cgroup directory holding this node's sandboxes. Leftovers in it are removed at
     * start, so two Skiffs on one host (a test run beside a real one) need different names.
     */
    @WithDefault("skiff")
    String cgroupName();

    /** The unprivileged uid/gid functions run as. */
    @WithDefault("65534")
    int sandboxUid();

    @WithDefault("65534")
    int sandboxGid();

    /** How long a new replica may take to accept on its socket. */
    @WithDefault("30s")
    Duration startTimeout();

    /** How long a call may wait for a free slot before it gets 429. */
    @WithDefault("10s")
    Duration queueTimeout();

    /** Largest request body a function accepts; bigger gets 413. */
    @WithDefault("6291456")
    long maxBodyBytes();

    /**
     * Most bytes a function package may unpack to, all files together: a small upload that
     * expands past it (a decompression bomb) is refused with 400 and nothing is stored.
     */
    @WithDefault("268435456")
    long maxPackageExpandedBytes();

    /** Most entries (files, directories, links) a function package may hold. */
    @WithDefault("10000")
    int maxPackageEntries();

    /** After SIGTERM, how long a replica may take to exit before it is killed. */
    @WithDefault("10s")
    Duration stopGrace();

    /** On shutdown or delete, how long in-flight calls may run before their replicas are stopped. */
    @WithDefault("30s")
    Duration shutdownDrain();

    /** How often idle replicas are looked for. */
    @WithDefault("1s")
    Duration reapInterval();

    /**
     * Whether this process runs the autoscaler role (decisions on fn.scale). Off: another process
     * decides, or none does, and the invokers scale on demand and reap idle replicas only.
     */
    @io.smallrye.config.WithName("autoscaler.enabled")
    @WithDefault("true")
    boolean autoscalerEnabled();

    /**
     * Which roles this process plays: {@code all} (gateway, invoker and autoscaler: one machine),
     * {@code gateway} (API, routing, async, autoscaler; no sandboxes) or {@code invoker}
     * (sandboxes only, fed by gateways; announces itself on fn.invokers).
     */
    @WithDefault("all")
    Role role();

    /**
     * How gateways reach this invoker's internal call endpoint, e.g. http://10.0.0.7:8080. Default:
     * this host's name and the HTTP port.
     */
    @io.smallrye.config.WithName("advertised-url")
    java.util.Optional<String> advertisedUrl();

    /**
     * Memory this invoker offers its replicas (the sum of their memory limits), e.g. 8G: gateways
     * place cold starts on invokers with room for one more. Default: 3/4 of the host's memory.
     */
    @io.smallrye.config.WithName("replica-memory")
    java.util.Optional<io.quarkus.runtime.configuration.MemorySize> replicaMemory();

    /** An invoker not heard from for this long is out of rotation (it announces every second). */
    @io.smallrye.config.WithName("invoker-timeout")
    @WithDefault("3s")
    Duration invokerTimeout();

    enum Role {
        ALL, GATEWAY, INVOKER;

        public boolean gateway() {
            return this != INVOKER;
        }

        public boolean invoker() {
            return this != GATEWAY;
        }
    }

    /** API tokens (see dev.skiff.gateway.auth); their hashes live in {@code <data-dir>/auth/tokens.json}. */
    Auth auth();

    interface Auth {
        /**
         * Where the first start (no tokens yet) writes the new admin token for the fn CLI on this
         * machine, mode 0600; the server itself keeps only its hash. {@code fn up} passes
         * {@code $HOME/.config/skiff/credentials} of the user who runs it, where the CLI looks.
         */
        @WithDefault("${user.home}/.config/skiff/credentials")
        Path credentialsFile();
    }
}
