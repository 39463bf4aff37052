package dev.skiff.cli;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Function templates on the classpath (module function-templates):
 * {@code skiff/templates/<runtime>/template.list} lists the template's files, one relative name per line
 * (blank lines and lines starting with {@code #} are ignored); each file is at
 * {@code skiff/templates/<runtime>/<file>}.
 */
final class Templates {
    /** Runtimes probed for {@link #known()}; a runtime is known when its template.list exists. */
    static final List<String> CANDIDATES = List.of("python", "node", "java", "bash", "image");

    private static final String ROOT = "skiff/templates/";

    private final ClassLoader loader;

    Templates(ClassLoader loader) {
        this.loader = loader;
    }

    List<String> known() {
        List<String> known = new ArrayList<>();
        for (String runtime : CANDIDATES) {
            if (loader.getResource(ROOT + runtime + "/template.list") != null) {
                known.add(runtime);
            }
        }
        return known;
    }

    /** The template's file names, or {@code null} if there is no template for {@code runtime}. */
    List<String> files(String runtime) throws IOException {
        if (runtime.isEmpty() || runtime.contains("/") || runtime.contains("\\") || runtime.startsWith(".")) {
            return null;
        }
        URL list = loader.getResource(ROOT + runtime + "/template.list");
        if (list == null) {
            return null;
        }
        String text;
        try (InputStream in = list.openStream()) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<String> files = new ArrayList<>();
        for (String line : text.split("\\R")) {
            String file = line.strip();
            if (!file.isEmpty() && !file.startsWith("#")) {
                files.add(file);
            }
        }
        return files;
    }

    /** The content of one template file, or {@code null} if it is missing. */
    byte[] read(String runtime, String file) throws IOException {
        URL url = loader.getResource(ROOT + runtime + "/" + file);
        if (url == null) {
            return null;
        }
        try (InputStream in = url.openStream()) {
            return in.readAllBytes();
        }
    }
}
