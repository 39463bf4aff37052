package dev.skiff.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

/** {@code fn versions NAME}: a table of a function's stored versions, the current one marked. */
final class VersionsCommand implements Command {

    @Override
    public String name() {
        return "versions";
    }

    @Override
    public String summary() {
        return "list a function's stored versions";
    }

    @Override
    public String usage() {
        return "fn versions NAME";
    }

    @Override
    public String details() {
        return "The current version is marked with *. Go back to one with: fn rollback NAME VERSION";
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
        HttpResponse<byte[]> response = api.send(api.v1("/v1/functions/" + name + "/versions", Api.DEFAULT_TIMEOUT).GET().build());
        if (response.statusCode() != 200) {
            throw new CliException(api.errorMessage(response, name));
        }
        JsonNode root = Json.parse(response.body());
        if (root == null || !root.isArray()) {
            throw new CliException("unexpected answer from Skiff: " + Json.errorMessage(200, response.body()));
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"VERSION", "DEPLOYED", "CURRENT"});
        for (JsonNode v : root) {
            String deployed = Json.text(v, "deployedAt");
            rows.add(new String[] {
                Json.text(v, "version") == null ? "-" : Json.text(v, "version"),
                deployed == null ? "-" : deployed,
                v.path("current").asBoolean() ? "*" : ""
            });
        }
        ListCommand.printTable(rows, ctx);
        return 0;
    }
}
