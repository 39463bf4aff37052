package dev.skiff.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

/** {@code fn token create|list|revoke}: the gateway's API tokens (needs an admin token). */
final class TokenCommand implements Command {

    @Override
    public String name() {
        return "token";
    }

    @Override
    public String summary() {
        return "create, list or revoke API tokens";
    }

    @Override
    public String usage() {
        return "fn token create [--scope invoke|admin] [--name N] | fn token list | fn token revoke ID";
    }

    @Override
    public String details() {
        return """
                create   make a token and print it (only this once: Skiff keeps its hash alone).
                         --scope invoke (default): may call functions, also those with 'auth: token'
                         in func.yaml; --scope admin: may also deploy and manage (all of /v1).
                         --name N: a label for fn token list (default: the scope)
                list     id, name, scope and creation time of every token
                revoke   refuse the token from now on; the last admin token cannot be revoked

                These calls need an admin token: fn up wrote one to $HOME/.config/skiff/credentials.""";
    }

    @Override
    public Args.Spec options() {
        return new Args.Spec().value("--scope").value("--name");
    }

    @Override
    public int run(Args args, Context ctx) throws CliException, IOException {
        if (args.positionals().isEmpty()) {
            throw CliException.usage("missing what to do: create, list or revoke");
        }
        String action = args.positionals().get(0);
        boolean createOptions = args.has("--scope") || args.has("--name");
        if (createOptions && !action.equals("create")) {
            throw CliException.usage("--scope and --name are for fn token create");
        }
        return switch (action) {
            case "create" -> create(args, ctx);
            case "list" -> list(args, ctx);
            case "revoke" -> revoke(args, ctx);
            default -> throw CliException.usage("unknown action '" + action + "': use create, list or revoke");
        };
    }

    private static int create(Args args, Context ctx) throws CliException {
        args.positional(0, null, 1);
        String scope = args.value("--scope") == null ? "invoke" : args.value("--scope");
        if (!scope.equals("invoke") && !scope.equals("admin")) {
            throw CliException.usage("--scope is invoke or admin, not '" + scope + "'");
        }
        ObjectNode body = Json.MAPPER.createObjectNode().put("scope", scope);
        if (args.value("--name") != null) {
            body.put("name", args.value("--name"));
        }
        Api api = ctx.api();
        HttpResponse<byte[]> response = api.send(api.v1("/v1/tokens", Api.DEFAULT_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build());
        if (response.statusCode() != 201) {
            throw new CliException(api.errorMessage(response));
        }
        JsonNode created = Json.parse(response.body());
        String token = Json.text(created, "token");
        if (token == null) {
            throw new CliException("unexpected answer from Skiff: " + Json.errorMessage(201, response.body()));
        }
        // The token alone on stdout, so that T=$(fn token create) works; the rest on stderr.
        ctx.out.println(token);
        ctx.err.println("Created " + Json.text(created, "scope") + " token " + Json.text(created, "id") + " (" + Json.text(created, "name")
                + "). It is shown only this once; use it as SKIFF_TOKEN or with 'Authorization: Bearer <token>'.");
        return 0;
    }

    private static int list(Args args, Context ctx) throws CliException {
        args.positional(0, null, 1);
        Api api = ctx.api();
        HttpResponse<byte[]> response = api.send(api.v1("/v1/tokens", Api.DEFAULT_TIMEOUT).GET().build());
        if (response.statusCode() != 200) {
            throw new CliException(api.errorMessage(response));
        }
        JsonNode root = Json.parse(response.body());
        if (root == null || !root.isArray()) {
            throw new CliException("unexpected answer from Skiff: " + Json.errorMessage(200, response.body()));
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ID", "NAME", "SCOPE", "CREATED"});
        for (JsonNode t : root) {
            String[] row = new String[4];
            String[] fields = {"id", "name", "scope", "createdAt"};
            for (int i = 0; i < fields.length; i++) {
                String value = Json.text(t, fields[i]);
                row[i] = value == null ? "-" : value;
            }
            rows.add(row);
        }
        ListCommand.printTable(rows, ctx);
        return 0;
    }

    private static int revoke(Args args, Context ctx) throws CliException {
        if (args.positionals().size() < 2) {
            throw CliException.usage("missing ID (see fn token list)");
        }
        String id = args.positional(1, null, 2);
        if (!id.matches("[A-Za-z0-9_-]{1,64}")) {
            throw CliException.usage("'" + id + "' is not a token id (see fn token list)");
        }
        Api api = ctx.api();
        HttpResponse<byte[]> response = api.send(api.v1("/v1/tokens/" + id, Api.DEFAULT_TIMEOUT).DELETE().build());
        if (response.statusCode() != 204) {
            throw new CliException(api.errorMessage(response));
        }
        ctx.out.println("Revoked " + id);
        return 0;
    }
}
