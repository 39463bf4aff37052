package dev.skiff.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/** {@code fn deploy [DIR]}: packs a function folder and uploads it; waits until the gateway reports it ready. */
final class DeployCommand implements Command {
    /** The gateway answers only once the first replica is ready (or it gave up), so allow a long time. */
    static final Duration TIMEOUT = Duration.ofSeconds(120);

    private static final YAMLMapper YAML = new YAMLMapper();

    @Override
    public String name() {
        return "deploy";
    }

    @Override
    public String summary() {
        return "upload a function folder and wait until it is ready";
    }

    @Override
    public String usage() {
        return "fn deploy [DIR]";
    }

    @Override
    public String details() {
        return """
                Packs DIR (default: the current folder) and uploads it as the function named
                in DIR/func.yaml. Skips .git, __pycache__, *.pyc and .DS_Store. When func.yaml
                names an OCI image (image: PATH on the Skiff host), only func.yaml is uploaded.""";
    }

    @Override
    public Args.Spec options() {
        return new Args.Spec();
    }

    @Override
    public int run(Args args, Context ctx) throws CliException, IOException {
        String dirArg = args.positional(0, ".", 1);
        String shown = dirArg.equals(".") ? "the current folder" : dirArg;
        Path dir;
        try {
            dir = Path.of(dirArg);
        } catch (InvalidPathException e) {
            throw new CliException("invalid path '" + dirArg + "'");
        }
        if (!Files.exists(dir)) {
            throw new CliException("no such folder: " + dirArg);
        }
        if (!Files.isDirectory(dir)) {
            throw new CliException(dirArg + " is not a folder");
        }
        Path funcYaml = dir.resolve("func.yaml");
        if (!Files.isRegularFile(funcYaml)) {
            throw new CliException(shown + " has no func.yaml (create one with ./fn init)");
        }
        String shownYaml = dirArg.equals(".") ? "func.yaml" : funcYaml.toString();
        JsonNode yaml = readYaml(funcYaml, shownYaml);
        String name = readName(yaml, shownYaml);
        JsonNode image = yaml.get("image");

        // A function from an OCI image is its func.yaml alone: the image is on the Skiff host.
        byte[] body;
        String contentType;
        String uploading;
        if (image != null && !image.isNull()) {
            body = Files.readAllBytes(funcYaml);
            contentType = "application/yaml";
            uploading = "func.yaml, image " + image.asText();
        } else {
            try {
                body = Packager.pack(dir);
            } catch (IOException e) {
                throw new CliException("cannot pack " + dirArg + ": " + e.getMessage());
            }
            contentType = "application/gzip";
            uploading = size(body.length);
        }

        Api api = ctx.api();
        ctx.err.println("Uploading " + name + " (" + uploading + ") to " + api.gateway()
                + " and waiting for it to start...");
        HttpRequest request = api.v1("/v1/functions/" + name, TIMEOUT)
                .header("Content-Type", contentType)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        HttpResponse<byte[]> response = api.send(request);
        int status = response.statusCode();
        if (status < 200 || status >= 300) {
            throw new CliException("deploy failed: " + api.errorMessage(response));
        }

        JsonNode result = Json.parse(response.body());
        if (result == null || !result.isObject()) {
            throw new CliException("deploy failed: unexpected answer from Skiff: "
                    + Json.errorMessage(status, response.body()));
        }
        String deployed = Json.text(result, "name") != null ? Json.text(result, "name") : name;
        String version = Json.text(result, "version");
        String what = deployed + (version != null ? " (version " + version + ")" : "");
        if (!result.path("ready").asBoolean(false)) {
            String message = Json.text(result, "message");
            throw new CliException(what + " is not ready: "
                    + (message != null ? message : "no reason given; see ./fn logs " + deployed));
        }
        String url = Json.text(result, "url");
        ctx.out.println("Deployed " + what + ": " + (url != null ? url : api.gateway() + "/fn/" + deployed));
        return 0;
    }

    private static JsonNode readYaml(Path funcYaml, String shown) throws CliException {
        JsonNode yaml;
        try {
            yaml = YAML.readTree(Files.readAllBytes(funcYaml));
        } catch (IOException e) {
            String detail = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            throw new CliException("cannot read " + shown + ": " + detail);
        }
        return yaml != null && yaml.isObject() ? yaml : YAML.createObjectNode(); // then it "has no name"
    }

    private static String readName(JsonNode yaml, String shown) throws CliException {
        JsonNode name = yaml.get("name");
        if (name == null || !name.isValueNode() || name.isNull() || name.asText().isBlank()) {
            throw new CliException(shown + " has no name (add a line like: name: hello)");
        }
        String text = name.asText().strip();
        Names.check(text);
        return text;
    }

    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MB", bytes / (1024.0 * 1024));
    }
}
