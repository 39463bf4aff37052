package dev.skiff.sandbox;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs one command in a fresh sandbox built from the host's system directories and collects its output. */
final class SandboxTestSupport {
    record Result(Sandbox.Exit exit, String stdout, String stderr) {}

    private static SandboxRuntime runtime;

    static synchronized SandboxRuntime runtime() throws Exception {
        // A cgroup group per run: a runtime removes its group's leftovers at start, so two runs
        // on one machine sharing a group would destroy each other's sandboxes.
        if (runtime == null) runtime = SandboxRuntime.open(Files.createTempDirectory("skiff-sbx-test"), "skiff-unit-test-" + ProcessHandle.current().pid());
        return runtime;
    }

    static SandboxSpec.Builder spec(String id) {
        List<RootfsEntry> rootfs = new ArrayList<>(HostLayer.of(HostLayer.SYSTEM_DIRS));
        rootfs.addAll(HostLayer.minimalEtc(65534, 65534, "fn"));
        rootfs.add(new RootfsEntry.Tmpfs("/tmp", 8 << 20, "1777"));
        return SandboxSpec.builder(id).addAll(rootfs).hostname("sbx-" + id).env("PATH", "/usr/bin:/bin");
    }

    static Result run(SandboxSpec spec) throws Exception {
        Sandbox sandbox = runtime().start(spec);
        try {
            CompletableFuture<String> out = drain(sandbox.stdout());
            CompletableFuture<String> err = drain(sandbox.stderr());
            Sandbox.Exit exit = sandbox.onExit().get(60, TimeUnit.SECONDS);
            return new Result(exit, out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
        } finally {
            sandbox.destroy();
        }
    }

    static Result sh(String id, String script) throws Exception {
        return run(spec(id).command("/bin/sh", "-c", script).build());
    }

    /** Python one-liners are the easiest way to make precise syscalls from inside. */
    static Result python(String id, String script) throws Exception {
        return run(spec(id).command("/usr/bin/python3", "-c", script).build());
    }

    static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                in.transferTo(buf);
                return buf.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
    }

    static Path tempDir() throws IOException {
        return Files.createTempDirectory("skiff-sbx-data");
    }
}
