package dev.skiff.gateway;

import dev.skiff.invoker.FunctionLogs;
import dev.skiff.invoker.Invoker;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code GET /v1/functions/{name}/logs[?tail=N][&follow=true]}: the function's recent output,
 * one line each ("time replica stream [call-id] text"), and with follow=true new lines as they
 * come until the client goes away. A slow client loses lines rather than slowing the function;
 * the loss is reported in a "# dropped N lines" line.
 */
@ApplicationScoped
public class LogRoutes {
    @Inject
    FunctionStore store;

    @Inject
    Invoker invoker;

    void register(@Observes Router router) {
        router.get("/v1/functions/:name/logs").order(-10).handler(this::logs);
    }

    private void logs(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        HttpServerResponse resp = ctx.response();
        if (store.get(name).isEmpty()) {
            ApiException e = ManagementResource.notFound(name);
            resp.setStatusCode(404).putHeader("Content-Type", "application/json").end(new ApiError(e.error(), e.getMessage()).toJson());
            return;
        }
        int tail;
        try {
            tail = Integer.parseInt(ctx.queryParams().get("tail") == null ? "100" : ctx.queryParams().get("tail"));
            if (tail < 0 || tail > 100_000) throw new NumberFormatException();
        } catch (NumberFormatException e) {
            resp.setStatusCode(400).putHeader("Content-Type", "application/json")
                    .end(new ApiError("bad_request", "tail must be a whole number from 0 to 100000").toJson());
            return;
        }
        boolean follow = "true".equals(ctx.queryParams().get("follow"));
        FunctionLogs logs = invoker.logs();
        StringBuilder out = new StringBuilder();
        for (FunctionLogs.Line l : logs.tail(name, tail)) out.append(l.format()).append('\n');
        resp.putHeader("Content-Type", "text/plain; charset=utf-8");
        if (!follow) {
            resp.end(out.toString());
            return;
        }
        resp.setChunked(true);
        FunctionLogs.Follower follower = logs.follow(name, 10_000);
        AtomicBoolean open = new AtomicBoolean(true);
        resp.closeHandler(v -> open.set(false));
        resp.write(out.toString());
        Thread.ofVirtual().name("logs-follow-" + name).start(() -> {
            long reportedDrops = 0;
            try (follower) {
                while (open.get()) {
                    FunctionLogs.Line l = follower.lines().poll(1, TimeUnit.SECONDS);
                    if (l == null) continue;
                    StringBuilder chunk = new StringBuilder(l.format()).append('\n');
                    for (FunctionLogs.Line more; (more = follower.lines().poll()) != null; ) chunk.append(more.format()).append('\n');
                    if (follower.dropped() > reportedDrops) {
                        chunk.append("# dropped ").append(follower.dropped() - reportedDrops).append(" lines (reader too slow)\n");
                        reportedDrops = follower.dropped();
                    }
                    // Back-pressure: if the client does not read, stop writing; the follower's queue
                    // then fills and further lines are dropped (and counted), the function never waits.
                    while (resp.writeQueueFull() && open.get()) Thread.sleep(50);
                    if (open.get()) resp.write(chunk.toString());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IllegalStateException closed) {
                // the client went away between the check and the write
            }
        });
    }
}
