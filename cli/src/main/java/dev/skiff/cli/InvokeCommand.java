package dev.skiff.cli;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * {@code fn invoke NAME [--data TEXT] [--method M] [--path /sub/path] [-H 'K: V']...}: calls a function
 * through the gateway at {@code /fn/NAME} and writes the response body to stdout unchanged.
 *
 * <p>The request body is {@code --data} if given; otherwise stdin, if stdin is not a terminal
 * (piped or redirected; see {@link Terminal}); otherwise there is none. An empty stdin counts as no body.
 * The method defaults to POST with a body and GET without one. No Content-Type is added unless given with -H.
 */
final class InvokeCommand implements Command {
    /** Allows for a cold start plus a slow function. */
    static final Duration TIMEOUT = Duration.ofSeconds(120);

    private static final Pattern METHOD = Pattern.compile("[A-Z]+");

    @Override
    public String name() {
        return "invoke";
    }

    @Override
    public String summary() {
        return "call a function and print its response";
    }

    @Override
    public String usage() {
        return "fn invoke NAME [--data TEXT] [--method M] [--path /sub/path] [-H 'K: V']...";
    }

    @Override
    public String details() {
        return """
                Options:
                  -d, --data TEXT     request body (otherwise read from stdin when it is piped
                                      or redirected, e.g. echo hi | ./fn invoke hello)
                  -X, --method M      HTTP method (default: POST with a body, GET without)
                      --path PATH     sub-path and query after /fn/NAME, e.g. /items?limit=5
                  -H, --header 'K: V' extra request header, may be repeated

                The response body goes to stdout as is. A non-2xx status exits with 1.
                The API token (--token, SKIFF_TOKEN or the credentials file) is sent too, for
                functions whose func.yaml says 'auth: token'.""";
    }

    @Override
    public Args.Spec options() {
        return new Args.Spec()
                .value("--data", "-d")
                .value("--method", "-X")
                .value("--path")
                .value("--header", "-H");
    }

    @Override
    public int run(Args args, Context ctx) throws CliException, IOException {
        String name = args.required("NAME");
        Names.check(name);

        byte[] body = null;
        if (args.has("--data")) {
            body = args.value("--data").getBytes(StandardCharsets.UTF_8);
        } else if (!ctx.stdinIsTerminal) {
            byte[] stdin = ctx.in.readAllBytes();
            body = stdin.length > 0 ? stdin : null;
        }

        String method = args.value("--method");
        method = method == null ? (body != null ? "POST" : "GET") : method.toUpperCase(Locale.ROOT);
        if (!METHOD.matcher(method).matches()) {
            throw CliException.usage("invalid method '" + args.value("--method") + "'");
        }

        String path = args.value("--path");
        if (path == null || path.isEmpty()) {
            path = "";
        } else if (!path.startsWith("/") && !path.startsWith("?")) {
            path = "/" + path;
        }

        Api api = ctx.api();
        boolean ownAuthorization = args.values("--header").stream().anyMatch(h -> h.regionMatches(true, 0, "Authorization:", 0, 14));
        HttpRequest.Builder request = HttpRequest.newBuilder(api.uri("/fn/" + name + path))
                .timeout(TIMEOUT)
                .method(method, body == null
                        ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        for (String header : args.values("--header")) {
            int colon = header.indexOf(':');
            if (colon <= 0) {
                throw CliException.usage("invalid header '" + header + "': expected 'Name: value'");
            }
            String key = header.substring(0, colon).strip();
            String value = header.substring(colon + 1).strip();
            try {
                request.header(key, value);
            } catch (IllegalArgumentException e) {
                throw CliException.usage("cannot send header '" + key + "': " + e.getMessage());
            }
        }
        // The token opens functions with 'auth: token'; Skiff strips it before the call reaches a function.
        if (!ownAuthorization) {
            api.authorized(request);
        }

        HttpResponse<byte[]> response = api.send(request.build());
        byte[] out = response.body();
        ctx.out.write(out, 0, out.length);
        if (ctx.stdoutIsTerminal && out.length > 0 && out[out.length - 1] != '\n') {
            ctx.out.write('\n');
        }
        ctx.out.flush();
        int status = response.statusCode();
        if (status == 401 || status == 403) {
            throw new CliException(status + " from " + name + ": " + api.errorMessage(status, out));
        }
        if (status < 200 || status >= 300) {
            throw new CliException(status + " from " + name);
        }
        return 0;
    }
}
