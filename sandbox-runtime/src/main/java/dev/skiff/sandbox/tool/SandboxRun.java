package dev.skiff.sandbox.tool;

import dev.skiff.sandbox.HostLayer;
import dev.skiff.sandbox.HostSupport;
import dev.skiff.sandbox.ImageStore;
import dev.skiff.sandbox.UnpackedImage;
import dev.skiff.sandbox.Limits;
import dev.skiff.sandbox.RootfsEntry;
import dev.skiff.sandbox.Sandbox;
import dev.skiff.sandbox.SandboxException;
import dev.skiff.sandbox.SandboxRuntime;
import dev.skiff.sandbox.SandboxSpec;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * {@code fn sandbox run}: runs one command in a fresh sandbox, like {@code runc run}, for
 * debugging the runtime and for trying limits by hand. Stdio passes through; the exit code is
 * the command's (128+signal when killed), with a one-line reason on stderr for out-of-memory.
 */
public final class SandboxRun {
    static final String USAGE = "usage: fn sandbox run [--memory 64m] [--pids 64] [--cpus 0.5] [--net none|outbound] "
            + "[--hostname NAME] [--tmp 64m] [--rootfs DIR | --image PATH] -- CMD [ARGS...]";

    /** Parsed command line. */
    record Options(long memoryBytes, int pids, int cpuMillis, String net, String hostname, long tmpBytes,
            Path rootfs, Path image, List<String> command) {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("fn sandbox: " + e.getMessage());
            System.err.println(USAGE);
            return 2;
        }
        String missing = HostSupport.whatIsMissing();
        if (missing != null) {
            System.err.println("fn sandbox: " + missing);
            return 125;
        }
        String id = "run-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
        SandboxSpec.Builder builder;
        List<String> command = o.command();
        try {
            if (o.image() != null) {
                // Unpacked once into a content-addressed cache, then shared read-only.
                Path cache = Path.of(System.getenv().getOrDefault("SKIFF_DATA", "/var/lib/skiff"), "images");
                UnpackedImage image = new ImageStore(cache).unpack(o.image());
                builder = image.spec(id);
                if (command.isEmpty()) command = image.config().command();
                if (command.isEmpty()) throw new IllegalArgumentException("the image has no Entrypoint/Cmd: give a command after --");
                command = resolve(command, image.rootfs());
            } else if (o.rootfs() != null) {
                builder = SandboxSpec.builder(id).add(new RootfsEntry.ImageRoot(o.rootfs()));
                command = resolve(command, o.rootfs());
            } else {
                List<RootfsEntry> rootfs = new ArrayList<>(HostLayer.of(HostLayer.SYSTEM_DIRS));
                rootfs.addAll(HostLayer.minimalEtc(65534, 65534, "sandbox"));
                builder = SandboxSpec.builder(id).addAll(rootfs);
                command = resolve(command, Path.of("/"));
            }
        } catch (IllegalArgumentException | java.io.IOException e) {
            System.err.println("fn sandbox: " + e.getMessage());
            return e instanceof IllegalArgumentException ? 2 : 125;
        }
        builder.add(new RootfsEntry.Tmpfs("/tmp", o.tmpBytes(), "1777"));
        SandboxSpec spec = builder
                .hostname(o.hostname() == null ? id : o.hostname())
                .command(command)
                .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
                .env("HOME", "/tmp")
                .env("TERM", System.getenv().getOrDefault("TERM", "dumb"))
                .limits(new Limits(o.memoryBytes(), o.pids(), o.cpuMillis()))
                .network(o.net().equals("outbound") ? SandboxSpec.Network.OUTBOUND : SandboxSpec.Network.NONE)
                .build();
        try {
            // Each run is its own runtime (state and cgroup group named by our pid), so concurrent
            // runs never clean up each other's sandboxes.
            long self = ProcessHandle.current().pid();
            SandboxRuntime runtime = SandboxRuntime.open(Path.of("/run/skiff/run/" + self), "skiff-run-" + self, 0); // one sandbox: nothing to unshare ahead
            Sandbox sandbox = runtime.start(spec, SandboxRuntime.Stdio.INHERIT);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> sandbox.signal(15)));
            Sandbox.Exit exit = sandbox.onExit().join();
            sandbox.destroy();
            runtime.close();
            if (exit.oomKilled()) {
                System.err.println("fn sandbox: killed: out of memory (limit " + (o.memoryBytes() >> 20) + " MiB)");
            } else if (exit.setupFailed()) {
                System.err.println("fn sandbox: the sandbox could not be set up (see the line above)");
            }
            return exit.code();
        } catch (SandboxException | java.io.IOException e) {
            System.err.println("fn sandbox: " + e.getMessage());
            return 125;
        }
    }

    static List<String> resolve(List<String> command, Path root) {
        return UnpackedImage.resolve(command, root);
    }

    static Options parse(String[] args) {
        long memory = 64L << 20;
        int pids = 64;
        int cpuMillis = 0;
        String net = "none";
        String hostname = null;
        long tmp = 64L << 20;
        Path rootfs = null;
        Path image = null;
        int i = 0;
        if (i < args.length && args[i].equals("run")) i++;
        for (; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) {
                i++;
                break;
            }
            if (!a.startsWith("--")) break;
            String key = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            String value;
            if (a.contains("=")) {
                value = a.substring(a.indexOf('=') + 1);
            } else {
                if (i + 1 >= args.length) throw new IllegalArgumentException(key + " needs a value");
                value = args[++i];
            }
            switch (key) {
                case "--memory" -> memory = size(value);
                case "--pids" -> pids = positive(key, value);
                case "--cpus" -> cpuMillis = cpus(value);
                case "--net" -> net = value;
                case "--hostname" -> hostname = value;
                case "--tmp" -> tmp = size(value);
                case "--rootfs" -> rootfs = Path.of(value).toAbsolutePath();
                case "--image" -> image = Path.of(value).toAbsolutePath();
                default -> throw new IllegalArgumentException("unknown option " + key);
            }
        }
        if (!net.equals("none") && !net.equals("outbound")) {
            throw new IllegalArgumentException("--net wants 'none' (loopback only) or 'outbound' (NAT to the world, not to the host), got " + net);
        }
        if (rootfs != null && image != null) throw new IllegalArgumentException("give --rootfs or --image, not both");
        if (i >= args.length && image == null) throw new IllegalArgumentException("no command given");
        return new Options(memory, pids, cpuMillis, net, hostname, tmp, rootfs, image, List.of(args).subList(Math.min(i, args.length), args.length));
    }

    static long size(String v) {
        String s = v.trim().toLowerCase(Locale.ROOT);
        long mult = 1;
        if (s.endsWith("ib")) s = s.substring(0, s.length() - 2);
        else if (s.endsWith("i") || s.endsWith("b")) s = s.substring(0, s.length() - 1);
        char unit = s.isEmpty() ? ' ' : s.charAt(s.length() - 1);
        switch (unit) {
            case 'k' -> mult = 1L << 10;
            case 'm' -> mult = 1L << 20;
            case 'g' -> mult = 1L << 30;
            default -> {
                // plain bytes
            }
        }
        if (mult > 1) s = s.substring(0, s.length() - 1);
        try {
            return Math.multiplyExact(Long.parseLong(s), mult);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("not a size: " + v + " (use e.g. 64m, 1g)");
        }
    }

    static int positive(String key, String v) {
        try {
            int n = Integer.parseInt(v);
            if (n > 0) return n;
        } catch (NumberFormatException ignored) {
            // below
        }
        throw new IllegalArgumentException(key + " wants a positive whole number, got " + v);
    }

    static int cpus(String v) {
        try {
            double d = Double.parseDouble(v);
            if (d > 0 && d <= 1024) return (int) Math.round(d * 1000);
        } catch (NumberFormatException ignored) {
            // below
        }
        throw new IllegalArgumentException("--cpus wants a number of CPUs like 0.5, got " + v);
    }
}
