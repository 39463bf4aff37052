package dev.skiff.cli;

import java.io.IOException;
import java.net.http.HttpResponse;

/** {@code fn delete NAME}: removes a function. */
final class DeleteCommand implements Command {

    @Override
    public String name() {
        return "delete";
    }

    @Override
    public String summary() {
        return "delete a function";
    }

    @Override
    public String usage() {
        return "fn delete NAME";
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
                api.send(api.v1("/v1/functions/" + name, Api.DEFAULT_TIMEOUT).DELETE().build());
        int status = response.statusCode();
        if (status < 200 || status >= 300) {
            throw new CliException(api.errorMessage(response, name));
        }
        ctx.out.println("Deleted " + name);
        return 0;
    }
}
