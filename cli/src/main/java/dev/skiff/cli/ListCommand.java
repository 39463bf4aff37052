package dev.skiff.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

/** {@code fn list}: a table of deployed functions. */
final class ListCommand implements Command {
    private static final String[] COLUMNS = {"name", "version", "runtime", "url"};

    @Override
    public String name() {
        return "list";
    }

    @Override
    public String summary() {
        return "list deployed functions";
    }

    @Override
    public String usage() {
        return "fn list";
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
        args.positional(0, null, 0);
        Api api = ctx.api();
        HttpResponse<byte[]> response = api.send(api.v1("/v1/functions", Api.DEFAULT_TIMEOUT).GET().build());
        if (response.statusCode() != 200) {
            throw new CliException(api.errorMessage(response));
        }
        JsonNode root = Json.parse(response.body());
        // A bare array is the contract; {"functions": [...]} is tolerated.
        if (root != null && root.isObject() && root.path("functions").isArray()) {
            root = root.get("functions");
        }
        if (root == null || !root.isArray()) {
            throw new CliException("unexpected answer from Skiff: " + Json.errorMessage(200, response.body()));
        }
        if (root.isEmpty()) {
            ctx.out.println("No functions deployed yet. Create one with: ./fn init hello");
            return 0;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NAME", "VERSION", "RUNTIME", "URL"});
        for (JsonNode function : root) {
            String[] row = new String[COLUMNS.length];
            for (int i = 0; i < COLUMNS.length; i++) {
                String value = Json.text(function, COLUMNS[i]);
                row[i] = value == null ? "-" : value;
            }
            rows.add(row);
        }
        printTable(rows, ctx);
        return 0;
    }

    /** Left-aligned columns separated by two spaces; the last column is not padded. */
    static void printTable(List<String[]> rows, Context ctx) {
        int columns = rows.get(0).length;
        int[] widths = new int[columns];
        for (String[] row : rows) {
            for (int i = 0; i < columns; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < columns; i++) {
                line.append(row[i]);
                if (i < columns - 1) {
                    line.append(" ".repeat(widths[i] - row[i].length() + 2));
                }
            }
            ctx.out.println(line.toString().stripTrailing());
        }
    }
}
