package dev.skiff.kafka.broker;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * The main class of the broker's JVM (the child that {@code LocalKafka} starts): formats the
 * storage when asked, then runs {@code kafka.Kafka} in this JVM, guarded by a watchdog.
 *
 * <pre>BrokerMain [--format CLUSTER_ID] SERVER_PROPERTIES</pre>
 *
 * <p>The watchdog: the parent keeps a pipe to this process's standard input open for as long as
 * it lives and never writes to it. When the parent goes away for whatever reason, SIGKILL
 * included, the kernel closes its end and {@code System.in.read()} returns end-of-file; the
 * broker then shuts down cleanly ({@code System.exit} runs Kafka's own shutdown hook), and is
 * halted if that takes longer than {@link #SHUTDOWN_GRACE_MS}. Unlike polling the parent's pid,
 * this cannot be fooled by pid reuse and reacts at once.
 *
 * <p>This class is copied on its own into {@code target/kafka-broker-lib/classes} by the build and
 * runs there next to Kafka's jars: it must use nothing but the JDK (Kafka is reached through
 * reflection, so kafka-local does not compile against the broker either).
 */
public final class BrokerMain {
    /** After the parent is gone: how long a clean shutdown may take before the JVM is halted. */
    public static final long SHUTDOWN_GRACE_MS = 20_000;

    private BrokerMain() {}

    public static void main(String[] args) throws Throwable {
        String clusterId = null;
        String properties;
        if (args.length == 3 && args[0].equals("--format")) {
            clusterId = args[1];
            properties = args[2];
        } else if (args.length == 1) {
            properties = args[0];
        } else {
            System.err.println("usage: BrokerMain [--format CLUSTER_ID] SERVER_PROPERTIES");
            System.exit(2);
            return;
        }
        startWatchdog(System.in);
        if (clusterId != null) {
            // `kafka-storage.sh format -t ID -c server.properties --ignore-formatted`, in this JVM
            // (one JVM start less on the first start). Static quorum (controller.quorum.voters),
            // so no --standalone. execute() returns the exit code instead of exiting.
            int code = (int) invoke("kafka.tools.StorageTool", "execute",
                    new Class<?>[] {String[].class, PrintStream.class},
                    new String[] {"format", "-t", clusterId, "-c", properties, "--ignore-formatted"}, System.out);
            if (code != 0) {
                System.err.println("skiff: formatting the Kafka storage failed (exit code " + code + ")");
                System.exit(code);
            }
        }
        invoke("kafka.Kafka", "main", new Class<?>[] {String[].class}, (Object) new String[] {properties});
    }

    private static Object invoke(String className, String method, Class<?>[] types, Object... args) throws Throwable {
        Method m = Class.forName(className).getMethod(method, types);
        try {
            return m.invoke(null, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static void startWatchdog(InputStream parentPipe) {
        Thread watchdog = new Thread(() -> {
            try {
                byte[] buffer = new byte[256];
                while (parentPipe.read(buffer) >= 0) {
                    // the parent writes nothing; anything read is ignored
                }
            } catch (IOException e) {
                // a broken pipe means the same as end-of-file
            }
            System.err.println("skiff: the process that started this broker is gone: shutting down");
            Thread halt = new Thread(() -> {
                try {
                    Thread.sleep(SHUTDOWN_GRACE_MS);
                } catch (InterruptedException e) {
                    return;
                }
                System.err.println("skiff: clean shutdown took longer than " + SHUTDOWN_GRACE_MS + " ms: halting");
                Runtime.getRuntime().halt(1);
            }, "skiff-broker-halt");
            halt.setDaemon(true);
            halt.start();
            System.exit(0);
        }, "skiff-parent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }
}
