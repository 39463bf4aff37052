package dev.skiff.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LocalKafkaMain in a JVM of its own, as {@code fn} runs it: SIGKILL of that JVM (no shutdown
 * hooks) must take the broker down too (BrokerMain's stdin watchdog); SIGTERM stops it cleanly.
 */
class LocalKafkaMainTest {
    @TempDir
    Path data;

    Process launcher;
    ProcessHandle broker;

    @AfterEach
    void cleanUp() {
        if (launcher != null) launcher.destroyForcibly();
        if (broker != null) broker.destroyForcibly();
    }

    @Test
    void theBrokerDiesWithItsLauncherEvenOnSigkill() throws Exception {
        String bootstrap = startLauncher();
        assertTrue(bootstrap.startsWith("127.0.0.1:"), bootstrap);

        launcher.destroyForcibly(); // SIGKILL: no shutdown hook runs
        launcher.waitFor(10, TimeUnit.SECONDS);
        long killed = System.nanoTime();
        awaitGone(broker, Duration.ofSeconds(brokerGraceSeconds() + 5));
        System.out.printf("broker gone %d ms after its launcher was SIGKILLed%n",
                (System.nanoTime() - killed) / 1_000_000);
        assertTrue(Files.readString(data.resolve("kafka/broker.log"))
                .contains("the process that started this broker is gone"));
    }

    @Test
    void sigtermStopsTheBrokerCleanly() throws Exception {
        startLauncher();
        launcher.destroy(); // SIGTERM: the shutdown hook stops the broker
        assertTrue(launcher.waitFor(30, TimeUnit.SECONDS), "launcher exited");
        assertEquals(143, launcher.exitValue(), "a JVM ended by SIGTERM exits with 128+15 after its hooks ran");
        awaitGone(broker, Duration.ofSeconds(1));
        String log = Files.readString(data.resolve("kafka/broker.log"));
        assertTrue(log.contains("Terminating process due to signal SIGTERM"), "SIGTERM reached the broker");
    }

    /** Starts the launcher JVM on {@link #data}, returns the address it printed. */
    String startLauncher() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path stderr = data.resolve("launcher.err");
        String brokerOptions = System.getProperty(LocalKafka.JVM_OPTIONS_PROPERTY, "");
        launcher = new ProcessBuilder(List.of(java.toString(), "-XX:TieredStopAtLevel=1",
                "-D" + LocalKafka.JVM_OPTIONS_PROPERTY + "=" + brokerOptions,
                "-cp", System.getProperty("java.class.path"),
                LocalKafkaMain.class.getName(), "--data", data.toString(), "--port", "0"))
                .redirectError(stderr.toFile())
                .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(launcher.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (IOException e) {
                return null;
            }
        });
        String first;
        try {
            first = line.get(LocalKafka.START_TIMEOUT.toSeconds() + 15, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            first = null;
        }
        if (first == null || !first.startsWith("bootstrap.servers=")) {
            fail("launcher printed " + first + "; its stderr: " + Files.readString(stderr));
        }
        broker = launcher.toHandle().children().findFirst().orElse(null);
        assertNotNull(broker, "the broker is the launcher's child");
        assertTrue(broker.info().commandLine().orElse("").contains("BrokerMain"), broker.info().toString());
        return first.substring("bootstrap.servers=".length());
    }

    static long brokerGraceSeconds() {
        return dev.skiff.kafka.broker.BrokerMain.SHUTDOWN_GRACE_MS / 1000;
    }

    /** Gone = no such process, or a zombie nobody reaped yet (it runs no code any more). */
    static void awaitGone(ProcessHandle process, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (gone(process.pid())) return;
            Thread.sleep(100);
        }
        fail("pid " + process.pid() + " still running after " + timeout);
    }

    static boolean gone(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // "pid (comm) S ...": the state follows the last ')'.
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException e) {
            return true;
        }
    }
}
