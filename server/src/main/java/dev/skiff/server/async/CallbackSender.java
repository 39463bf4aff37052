package dev.skiff.server.async;

import dev.skiff.invoker.http.HttpMessage;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.jboss.logging.Logger;

/**
 * Posts a finished call's outcome to the caller's X-Callback-Url: the function's body as it
 * answered (or the error as JSON when it never answered), with X-Call-Id, X-Skiff-Call-Status
 * (succeeded, failed, dead) and X-Skiff-Function-Status (the function's status code). A 2xx is a
 * delivery; anything else is tried again a few times with doubling waits, then given up (logged
 * and counted): the outcome stays readable at /v1/calls/{id}, and the function is never run again
 * for a callback's sake. Runs on the call's own virtual thread, each try bounded by
 * skiff.async.callback-timeout, so a dead callback endpoint holds no pool thread.
 */
@ApplicationScoped
public class CallbackSender {
    private static final Logger LOG = Logger.getLogger(CallbackSender.class);

    @Inject
    AsyncConfig config;

    @Inject
    AsyncMetrics metrics;

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NEVER).build();

    /** Whether {@code url} is something a callback can go to: an absolute http or https URL with a host. */
    public static boolean acceptable(String url) {
        try {
            URI u = new URI(url);
            String scheme = u.getScheme();
            return u.isAbsolute() && ("http".equalsIgnoreCase(scheme) || "https".equalsIgnoreCase(scheme))
                    && u.getHost() != null && !u.getHost().isEmpty();
        } catch (java.net.URISyntaxException e) {
            return false;
        }
    }

    /** Returns whether the callback was delivered. */
    boolean deliver(AsyncCall call, CallResult result, CallRunner.Attempt attempt) throws InterruptedException {
        byte[] body;
        String contentType;
        if (attempt.answered()) {
            body = attempt.body();
            contentType = HttpMessage.first(attempt.headers(), "Content-Type");
        } else {
            body = new dev.skiff.gateway.ApiError(attempt.error(), attempt.message()).toJson().getBytes(StandardCharsets.UTF_8);
            contentType = "application/json";
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(call.callbackUrl()))
                .timeout(config.callbackTimeout())
                .header("X-Call-Id", call.callId())
                .header("X-Skiff-Call-Status", result.status())
                .header("X-Skiff-Function-Status", Integer.toString(attempt.status()))
                .header("X-Skiff-Attempts", Integer.toString(call.attempt()))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) b.header("Content-Type", contentType);
        HttpRequest request = b.build();
        long wait = config.callbackBackoff().toMillis();
        for (int i = 1; i <= config.callbackAttempts(); i++) {
            String problem;
            try {
                int status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
                if (status >= 200 && status < 300) {
                    metrics.callback(true);
                    return true;
                }
                problem = "answered " + status;
            } catch (IOException e) {
                problem = e.toString();
            }
            LOG.infof("callback of call %s to %s, try %d of %d: %s", call.callId(), call.callbackUrl(), i, config.callbackAttempts(), problem);
            if (i < config.callbackAttempts()) {
                Thread.sleep(wait);
                wait *= 2;
            }
        }
        LOG.warnf("callback of call %s to %s given up; the result stays at /v1/calls/%s", call.callId(), call.callbackUrl(), call.callId());
        metrics.callback(false);
        return false;
    }
}
