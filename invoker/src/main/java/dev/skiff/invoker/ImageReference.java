package dev.skiff.invoker;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What func.yaml's {@code image:} names. For now only an image on the Skiff host's own disk: an
 * absolute path to an OCI image layout directory, an OCI archive (its tar) or a {@code docker
 * save} tar; the format is detected from the content. The path may carry the transport prefix
 * skopeo and Podman use ({@code oci:}, {@code oci-archive:}, {@code docker-archive:}), which
 * leaves room for {@code docker://} and registry names later without changing what an existing
 * func.yaml means. Anything that looks like a registry reference is refused by name today.
 *
 * @param transport {@code path} for a bare path, otherwise the prefix as written
 * @param path      the absolute, normalized host path
 */
public record ImageReference(String transport, Path path) {
    private static final Pattern TRANSPORT = Pattern.compile("(oci|oci-archive|docker-archive):(.*)");
    static final String LOCAL_ONLY = "only local images are supported for now: an absolute path on the Skiff host to an OCI image"
            + " layout directory, an OCI archive or a `docker save` tar (optionally written oci:PATH, oci-archive:PATH or"
            + " docker-archive:PATH)";

    public static ImageReference parse(String text) throws InvalidFunctionException {
        String ref = text == null ? "" : text.trim();
        if (ref.isEmpty()) throw new InvalidFunctionException("invalid_image", "image is empty; " + LOCAL_ONLY);
        String transport = "path";
        String path = ref;
        Matcher m = TRANSPORT.matcher(ref);
        if (m.matches()) {
            transport = m.group(1);
            path = m.group(2);
        }
        if (!path.startsWith("/")) {
            // docker.io/library/busybox, busybox:1.36, docker://…: a name, not a file (a relative file is ./x or x.tar)
            boolean registry = ref.contains("://") || (!m.matches() && !path.startsWith(".") && !path.endsWith(".tar"));
            throw new InvalidFunctionException("invalid_image", registry
                    ? "image '" + ref + "' looks like a registry reference; " + LOCAL_ONLY
                    : "image '" + ref + "' is not an absolute path; " + LOCAL_ONLY);
        }
        if (path.contains("\0")) throw new InvalidFunctionException("invalid_image", "image path contains a NUL byte");
        return new ImageReference(transport, Path.of(path).normalize());
    }

    @Override
    public String toString() {
        return transport.equals("path") ? path.toString() : transport + ":" + path;
    }
}
