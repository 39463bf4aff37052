package dev.skiff.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.http.HttpResponse;

/** {@code fn describe NAME}: the function's details as pretty-printed JSON. */
final class DescribeCommand implements Command {

    @Override
    public String name() {
        return "describe";
    }

    @Override
    public String summary() {
        return "show a function's details";
    }

    @Override
    public String usage() {
        return "fn describe NAME";
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
        HttpResponse<byte[]> response = api.send(api.v1("/v1/functions/" + name, Api.DEFAULT_TIMEOUT).GET().build());
        if (response.statusCode() != 200) {
            throw new CliException(api.errorMessage(response, name));
        }
        JsonNode node = Json.parse(response.body());
        if (node == null) {
            byte[] body = response.body();
            ctx.out.write(body, 0, body.length);
            ctx.out.flush();
        } else {
            ctx.out.println(Json.pretty(node));
        }
        return 0;
    }
}
