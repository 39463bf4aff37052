package dev.skiff.gateway.auth;

import dev.skiff.gateway.ApiError;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

/**
 * Everything under /v1 (the JAX-RS resources and the Vert.x logs route alike) needs an admin
 * token. It runs first on every request and looks at the normalized path with repeated slashes
 * folded, so neither {@code //v1/functions} nor {@code /fn/../v1/functions} nor percent-encoding
 * slips past it to a handler that would route it to /v1. /fn and /q are not its business.
 *
 * <p>{@code /v1/calls/{id}} serves callers rather than operators (where an async call stands): it
 * is exempt here and asks as much as calling the call's function would
 * ({@code authorizer.forInvocation(function, header).orThrow()} in CallsResource).
 */
@ApplicationScoped
public class ManagementGuard {
    @Inject
    Authorizer authorizer;

    /** Async call results: as public as the call's function (see the class comment). */
    static final String CALLS = "/v1/calls/";

    void register(@Observes Router router) {
        router.route().order(-1000).handler(this::check);
    }

    static boolean isManagement(String normalizedPath) {
        // Runs before every request, calls included: compile the regex only for a path that needs it.
        String p = normalizedPath.contains("//") ? normalizedPath.replaceAll("/{2,}", "/") : normalizedPath;
        return (p.equals("/v1") || p.startsWith("/v1/")) && !p.startsWith(CALLS);
    }

    /**
     * A refused request's body (a deploy's package, a call's input) is never read: on HTTP/1 the
     * connection cannot be reused after it, so the answer says it closes.
     */
    public static void closeIfBodyUnread(HttpServerRequest req, HttpServerResponse resp) {
        boolean body = req.getHeader("Transfer-Encoding") != null
                || (req.getHeader("Content-Length") != null && !req.getHeader("Content-Length").strip().equals("0"));
        if (body && !req.isEnded() && req.version() != HttpVersion.HTTP_2) resp.putHeader("Connection", "close");
    }

    private void check(RoutingContext ctx) {
        if (!isManagement(ctx.normalizedPath())) {
            ctx.next();
            return;
        }
        Authorizer.Outcome outcome = authorizer.forManagement(ctx.request().getHeader("Authorization"));
        if (outcome.allowed()) {
            ctx.next();
            return;
        }
        HttpServerResponse resp = ctx.response();
        closeIfBodyUnread(ctx.request(), resp);
        resp.setStatusCode(outcome.status())
                .putHeader("Content-Type", "application/json")
                .putHeader("WWW-Authenticate", outcome.challenge())
                .end(new ApiError(outcome.error(), outcome.message()).toJson());
    }
}
