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
        return "fn logs NAME";
    }

    @Override
    public String details() {
        return "";
    }

    @Override
    public Args.Spec options() {
        return new Args.Spec();
    }

    @Override
    public int run(Args args, Context ctx) throws CliException, IOException {
        String name = args.required("NAME");
        Names.check(name);
        Api api = ctx.api();
        HttpResponse<byte[]> response =
                api.send(api.v1("/v1/functions/" + name + "/logs", Api.DEFAULT_TIMEOUT).GET().build());
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
