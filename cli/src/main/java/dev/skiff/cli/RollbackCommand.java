package dev.skiff.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** {@code fn rollback NAME VERSION}: makes a stored version current again. */
final class RollbackCommand implements Command {

    @Override
    public String name() {
        return "rollback";
    }

    @Override
    public String summary() {
        return "make a stored version of a function current again";
    }

    @Override
    public String usage() {
        return "fn rollback NAME VERSION";
    }

    @Override
    public String details() {
        return "New calls go to VERSION at once; running calls finish on the version they started on. See fn versions NAME.";
    }

    @Override
    public Args.Spec options() {
        return new Args.Spec();
    }

    @Override
    public int run(Args args, Context ctx) throws CliException, IOException {
        if (args.positionals().size() < 2) {
            throw CliException.usage(args.positionals().isEmpty() ? "missing NAME" : "missing VERSION");
        }
        String name = args.positional(0, null, 2);
        Names.check(name);
        String versionText = args.positional(1, null, 2);
        long version;
        try {
            version = Long.parseLong(versionText);
        } catch (NumberFormatException e) {
            throw CliException.usage("VERSION must be a number (see fn versions " + name + "), not '" + versionText + "'");
        }
        if (version < 1) throw CliException.usage("VERSION must be 1 or more");
        Api api = ctx.api();
        HttpRequest request = api.v1("/v1/functions/" + name + "/rollback", Api.DEFAULT_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"version\": " + version + "}"))
                .build();
        HttpResponse<byte[]> response = api.send(request);
        if (response.statusCode() != 200) {
            throw new CliException(api.errorMessage(response, name));
        }
        JsonNode node = Json.parse(response.body());
        String status = node == null ? null : Json.text(node, "status");
        ctx.out.println("Rolled " + name + " back to version " + version + (status == null ? "" : " (" + status + ")"));
        return 0;
    }
}
