package dev.skiff.server.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * Keeps /q/metrics valid for Prometheus' own parser: the Prometheus client escapes a double
 * quote in HELP text as {@code \"}, which the text format allows only in label values, so
 * {@code promtool check metrics} (and older scrapers) reject the whole page because of
 * Micrometer's {@code system_cpu_usage} help ("The \"recent cpu usage\" …"). Quotes in
 * descriptions become single quotes.
 *
 * <p>The page also passes promtool's lint: a meter without a description (several of the JVM's,
 * Netty's and Vert.x's) gets its name as help text, and the two meters whose names break the
 * naming rules are left out (see {@link #DROPPED}). The Kafka
 * clients' own metrics are off (quarkus.micrometer.binder.kafka.enabled=false): hundreds of
 * client internals without help and with "ns" units.
 */
@Singleton
public class PrometheusSafeHelp {
    /**
     * Names promtool's lint refuses: "ns" units, a gauge ending in _count, and Vert.x's long task
     * timer of open connections (written as _active_count/_duration_sum samples without help);
     * process_cpu_usage, system_cpu_usage and http_server_active_connections say the same.
     */
    private static final java.util.Set<String> DROPPED = java.util.Set.of("process.cpu.time", "system.cpu.count", "http.server.connections");

    @Produces
    @Singleton
    MeterFilter noDoubleQuotesInHelp() {
        return new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                String d = id.getDescription();
                String help = d == null || d.isBlank() ? id.getName().replace('.', ' ') : d.replace('"', '\'');
                if (help.equals(d)) return id;
                return new Meter.Id(id.getName(), io.micrometer.core.instrument.Tags.of(id.getTags()), id.getBaseUnit(), help, id.getType());
            }

            @Override
            public io.micrometer.core.instrument.config.MeterFilterReply accept(Meter.Id id) {
                return DROPPED.contains(id.getName())
                        ? io.micrometer.core.instrument.config.MeterFilterReply.DENY
                        : io.micrometer.core.instrument.config.MeterFilterReply.NEUTRAL;
            }
        };
    }
}
