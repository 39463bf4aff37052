package dev.skiff.templates;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs the Python FDK's own unittest suite ({@code src/test/python}) so that the Maven build
 * covers the Python runtime too. A missing python3 is a failure, not a skip: the platform
 * cannot run Python functions without it, and a silently skipped test would hide that.
 */
class PythonFdkTest {

    private static final long TIMEOUT_SECONDS = 120;

    @Test
    void pythonFdkUnitTestsPass() throws Exception {
        Path moduleDir = moduleDir();
        Path testDir = moduleDir.resolve("src/test/python");
        Path python = python();

        ProcessBuilder pb = new ProcessBuilder(
                        python.toString(), "-m", "unittest", "discover", "-s", testDir.toString(), "-v")
                .directory(moduleDir.toFile())
                .redirectErrorStream(true);
        // Keep __pycache__ out of the source tree; unbuffered so output streams as it happens.
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        pb.environment().put("PYTHONUNBUFFERED", "1");
        System.out.println("[PythonFdkTest] " + String.join(" ", pb.command()));
        Process process = pb.start();

        // Drain output on another thread so waitFor can enforce the timeout.
        Thread pump = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    System.out.println(line);
                }
            } catch (IOException e) {
                // the stream closes when the process is destroyed; nothing left to print
            }
        }, "python-fdk-test-output");
        pump.setDaemon(true);
        pump.start();

        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            pump.join(5_000);
            fail("python FDK tests did not finish within " + TIMEOUT_SECONDS + " s");
        }
        pump.join(10_000);
        assertEquals(0, process.exitValue(), "python FDK tests failed, see the output above");
    }

    /** Maven runs tests in the module's basedir; an IDE may run them from the repository root. */
    private static Path moduleDir() {
        Path cwd = Path.of("").toAbsolutePath();
        for (Path candidate : new Path[] {cwd, cwd.resolve("function-templates")}) {
            if (Files.isDirectory(candidate.resolve("src/test/python"))
                    && Files.isRegularFile(candidate.resolve("src/main/resources/skiff/runtimes/python/fdk.py"))) {
                return candidate;
            }
        }
        fail("cannot find the function-templates module (with src/test/python) from " + cwd);
        return null; // unreachable
    }

    /** /usr/bin/python3 (what the sandbox uses), else python3 on PATH; fails if there is none. */
    private static Path python() {
        Path system = Path.of("/usr/bin/python3");
        if (Files.isExecutable(system)) {
            return system;
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                if (dir.isEmpty()) {
                    continue;
                }
                Path candidate = Path.of(dir, "python3");
                if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
                    return candidate;
                }
            }
        }
        fail("python3 not found (neither /usr/bin/python3 nor on PATH); the Python runtime needs it");
        return null; // unreachable
    }
}
