package dev.skiff.server.metrics;

import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * /q/metrics in the classic Prometheus text format (0.0.4) unless the scraper asks for
 * OpenMetrics. Quarkus answers OpenMetrics to any Accept that does not name text/plain, so
 * {@code curl -s localhost:8080/q/metrics | promtool check metrics} (curl sends Accept: *&#47;*)
 * got a format promtool cannot read. Prometheus itself asks for OpenMetrics by name and still
 * gets it.
 */
@ApplicationScoped
public class ClassicMetricsFormat {
    void register(@Observes Router router) {
        router.route("/q/metrics").order(-100).handler(ctx -> {
            String accept = ctx.request().getHeader("Accept");
            if (accept == null || !accept.contains("application/openmetrics-text")) ctx.request().headers().set("Accept", "text/plain");
            ctx.next();
        });
    }
}
