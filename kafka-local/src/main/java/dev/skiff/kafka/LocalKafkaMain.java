package dev.skiff.kafka;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Runs a {@link LocalKafka} broker in the foreground until this JVM gets SIGTERM/SIGINT (the
 * broker is then stopped cleanly) or is killed (the broker then stops itself):
 *
 * <pre>java -cp kafka-local.jar:... dev.skiff.kafka.LocalKafkaMain [--data DIR] [--port N]</pre>
 *
 * <p>Once the broker is ready it prints one line to stdout, {@code bootstrap.servers=HOST:PORT},
 * for scripts; everything else goes to stderr. Defaults: {@code --data $SKIFF_DATA} or
 * {@code /var/lib/skiff} (the broker's files go to {@code DIR/kafka}), {@code --port 9092}
 * ({@code 0} picks a free port). Exit codes: 143 (128+SIGTERM, as for any JVM) or 130 (SIGINT)
 * after the broker was stopped on request, 1 if the broker failed to start or exited on its own,
 * 2 for a bad command line.
 */
public final class LocalKafkaMain {
    static final String USAGE = "usage: LocalKafkaMain [--data DIR] [--port N]   (default port 9092, 0 = any free port)";

    private LocalKafkaMain() {}

    public static void main(String[] args) throws InterruptedException {
        String data = System.getenv().getOrDefault("SKIFF_DATA", "/var/lib/skiff");
        int port = 9092;
        try {
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                String value = arg.contains("=") ? arg.substring(arg.indexOf('=') + 1) : null;
                String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
                switch (name) {
                    case "--data" -> data = value != null ? value : next(args, ++i, name);
                    case "--port" -> port = Integer.parseInt(value != null ? value : next(args, ++i, name));
                    case "-h", "--help" -> {
                        System.out.println(USAGE);
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown option " + arg);
                }
            }
            if (port < 0 || port > 65535) throw new IllegalArgumentException("--port out of range: " + port);
        } catch (IllegalArgumentException e) {
            System.err.println("kafka: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }

        long started = System.nanoTime();
        LocalKafka kafka;
        try {
            kafka = LocalKafka.start(Path.of(data), port);
        } catch (IOException e) {
            System.err.println("kafka: " + e.getMessage());
            System.exit(1);
            return;
        }
        System.out.println("bootstrap.servers=" + kafka.bootstrapServers());
        System.out.flush();
        System.err.printf("kafka: broker ready on %s in %d ms (pid %d, data %s, log %s)%n", kafka.bootstrapServers(),
                (System.nanoTime() - started) / 1_000_000, kafka.pid(), kafka.kafkaDir(), kafka.logFile());

        int code = kafka.waitFor();
        if (kafka.stopRequested()) return; // SIGTERM: the shutdown hook is stopping the broker
        System.err.println("kafka: the broker exited on its own with code " + code + "; "
                + LocalKafka.lastLines(kafka.logFile()));
        kafka.stop();
        System.exit(1);
    }

    private static String next(String[] args, int i, String option) {
        if (i >= args.length) throw new IllegalArgumentException(option + " needs a value");
        return args[i];
    }
}
