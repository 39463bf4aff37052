package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** `fn sandbox run` as a user runs it: a separate process, stdio passed through, exit codes and reasons. */
class SandboxRunToolTest {
    record Run(int code, String out, String err) {}

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    static Run fnSandbox(String stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.skiff.sandbox.tool.SandboxRun"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        var out = SandboxTestSupport.drain(p.getInputStream());
        var err = SandboxTestSupport.drain(p.getErrorStream());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "fn sandbox run finished");
        return new Run(p.exitValue(), out.join(), err.join());
    }

    @Test
    void stdioPassesThroughAndTheExitCodeIsTheCommands() throws Exception {
        Run r = fnSandbox("from stdin\n", "run", "--", "sh", "-c", "cat; echo to-stderr >&2; exit 7");
        assertEquals(7, r.code(), r.err());
        assertEquals("from stdin\n", r.out());
        assertTrue(r.err().contains("to-stderr"), r.err());
    }

    @Test
    void aKilledCommandExitsWith128PlusSignalAndOutOfMemorySaysSo() throws Exception {
        Run r = fnSandbox("", "run", "--memory", "32m", "--", "python3", "-c", "x = bytearray(200 << 20)");
        assertEquals(137, r.code(), r.err());
        assertTrue(r.err().contains("out of memory (limit 32 MiB)"), r.err());
    }

    @Test
    void badOptionsGetAUsageLine() throws Exception {
        Run r = fnSandbox("", "run", "--pids", "lots", "--", "true");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--pids") && r.err().contains("usage:"), r.err());
    }

    @Test
    void aRootfsDirectoryBecomesTheRoot() throws Exception {
        Path root = Files.createTempDirectory("bbroot");
        for (String d : List.of("bin", "proc", "dev", "tmp", "etc")) Files.createDirectories(root.resolve(d));
        Files.copy(Path.of("/bin/busybox"), root.resolve("bin/busybox"));
        for (String applet : List.of("sh", "ls", "echo")) Files.createSymbolicLink(root.resolve("bin/" + applet), Path.of("busybox"));
        Files.setPosixFilePermissions(root, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Run r = fnSandbox("", "run", "--rootfs", root.toString(), "--", "sh", "-c", "ls /bin | tr '\\n' ' '");
        assertEquals(0, r.code(), r.err());
        assertEquals("busybox echo ls sh", r.out().trim());
    }
}
