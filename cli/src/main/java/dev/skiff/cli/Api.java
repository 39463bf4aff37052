package dev.skiff.cli;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;

/** HTTP access to the Skiff gateway, translating transport failures into user-facing messages. */
final class Api implements AutoCloseable {
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private final String gateway;
    private final String token;
    private final String tokenSource;
    private final HttpClient client;

    /**
     * @param gateway     base URL without trailing slash, e.g. {@code http://localhost:8080}
     * @param token       bearer token, or {@code null}
     * @param tokenSource where the token came from, or where the CLI looked for one
     */
    Api(String gateway, String token, String tokenSource) {
        this.gateway = gateway;
        this.token = token;
        this.tokenSource = tokenSource;
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    String gateway() {
        return gateway;
    }

    boolean hasToken() {
        return token != null;
    }

    /** A request to the management API, {@code path} starting with {@code /v1/}; carries the token if any. */
    HttpClient client() {
        return client;
    }

    HttpRequest.Builder v1(String path, Duration timeout) throws CliException {
        return authorized(HttpRequest.newBuilder(uri(path)).timeout(timeout));
    }

    /** Adds the token, if there is one, as {@code Authorization: Bearer}. */
    HttpRequest.Builder authorized(HttpRequest.Builder builder) {
        if (token != null) {
            builder.header("Authorization", "Bearer " + token);
        }
        return builder;
    }

    URI uri(String path) throws CliException {
        try {
            return URI.create(gateway + path);
        } catch (IllegalArgumentException e) {
            throw CliException.usage("invalid URL " + gateway + path);
        }
    }

    HttpResponse<byte[]> send(HttpRequest request) throws CliException {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (HttpConnectTimeoutException e) {
            throw unreachable();
        } catch (HttpTimeoutException e) {
            long seconds = request.timeout().map(Duration::toSeconds).orElse(0L);
            throw new CliException("no answer from Skiff at " + gateway + " within " + seconds + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        } catch (IOException e) {
            if (isConnectFailure(e)) {
                throw unreachable();
            }
            throw new CliException("request to " + gateway + " failed: " + describe(e));
        }
    }

    /** The message of a failed {@code /v1} response; on 401 and 403 also where the token came from. */
    String errorMessage(HttpResponse<byte[]> response) {
        return errorMessage(response.statusCode(), response.body());
    }

    String errorMessage(int status, byte[] body) {
        String message = Json.errorMessage(status, body);
        return status == 401 || status == 403 ? message + " " + tokenNote() : message;
    }

    /** "(token from SKIFF_TOKEN)" or "(no token: looked at --token, SKIFF_TOKEN and …)". */
    String tokenNote() {
        return token != null ? "(token from " + tokenSource + ")" : "(no token: " + tokenSource + ")";
    }

    /** Like {@link #errorMessage(HttpResponse)}, but a bare 404 says that the function does not exist. */
    String errorMessage(HttpResponse<byte[]> response, String functionName) {
        if (response.statusCode() == 404 && Json.errorMessage(404, response.body()).equals("HTTP 404")) {
            return "no function named " + functionName;
        }
        return errorMessage(response);
    }

    private CliException unreachable() {
        return new CliException("cannot reach Skiff at " + gateway + ": is it running? Start it with ./fn up");
    }

    private static boolean isConnectFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof UnresolvedAddressException) {
                return true;
            }
        }
        return false;
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }

    @Override
    public void close() {
        client.close();
    }
}
