package dev.skiff.cli;

import java.io.IOException;
import java.net.http.HttpResponse;

/** {@code fn logs NAME}: prints the function's logs as the gateway returns them. */
final class LogsCommand implements Command {

    @Override
    public String name() {
        return "logs";
    }

    @Override
    public String summary() {
        return "show a function's logs";
    }

    @Override
    public String usage() {
        return "fn logs NAME [-f|--follow] [--tail N]";
    }

    @Override
    public String details() {
        return "Prints the function's recent output (time, replica, stream, call id, line).\n"
                + "-f keeps printing new lines until interrupted; --tail N shows the last N lines (default 100).";
    }

    @Override
    public Args.Spec options() {
        return new Args.Spec().flag("--follow", "-f").value("--tail");
    }

    @Override
    public int run(Args args, Context ctx) throws CliException, IOException {
        String name = args.required("NAME");
        Names.check(name);
        Api api = ctx.api();
        String tail = args.value("--tail") == null ? "100" : args.value("--tail");
        if (!tail.matches("\\d{1,6}")) throw CliException.usage("--tail wants a number of lines");
        String path = "/v1/functions/" + name + "/logs?tail=" + tail;
        if (args.has("--follow")) {
            HttpResponse<java.io.InputStream> stream;
            try {
                stream = api.client().send(api.v1(path + "&follow=true", java.time.Duration.ofDays(365)).GET().build(),
                        HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 130;
            }
            if (stream.statusCode() != 200) {
                byte[] error;
                try (java.io.InputStream in = stream.body()) {
                    error = in.readNBytes(64 * 1024);
                }
                throw new CliException("cannot follow the logs of " + name + ": " + api.errorMessage(stream.statusCode(), error));
            }
            try (java.io.InputStream in = stream.body()) {
                byte[] buf = new byte[8192];
                for (int n; (n = in.read(buf)) > 0; ) {
                    ctx.out.write(buf, 0, n);
                    ctx.out.flush();
                }
            }
            return 0;
        }
        HttpResponse<byte[]> response =
                api.send(api.v1(path, Api.DEFAULT_TIMEOUT).GET().build());
        if (response.statusCode() < 200 || response.statusCode() >= 300) {
            throw new CliException(api.errorMessage(response, name));
        }
        byte[] body = response.body();
        ctx.out.write(body, 0, body.length);
        if (ctx.stdoutIsTerminal && body.length > 0 && body[body.length - 1] != '\n') {
            ctx.out.write('\n');
        }
        ctx.out.flush();
        return 0;
    }
}
