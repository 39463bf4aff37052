package dev.skiff.invoker;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * What each function runtime needs inside a sandbox: its interpreter (from the shared host
 * layer), its FDK (extracted once, bound read-only at /skiff/fdk) and how to launch it.
 */
public final class Runtimes {
    /** Where the FDK directory appears inside the sandbox. */
    public static final String FDK_DIR = "/skiff/fdk";
    public static final String CODE_DIR = "/code";
    public static final String SOCKET_DIR = "/run/fn";
    public static final String SOCKET = SOCKET_DIR + "/fn.sock";

    /** How one runtime is launched. */
    public record Runtime(String name, List<String> fdkFiles, List<String> command, Map<String, String> env) {}

    private static final Map<String, Runtime> KNOWN = Map.of(
            "python", new Runtime("python", List.of("fdk.py"),
                    List.of("/usr/bin/python3", "-u", "-B", FDK_DIR + "/fdk.py"),
                    Map.of("PYTHONDONTWRITEBYTECODE", "1", "PYTHONUNBUFFERED", "1")));

    private final Path fdkRoot;

    public Runtimes(Path dataDir) {
        this.fdkRoot = dataDir.resolve("runtimes");
    }

    public static boolean isKnown(String runtime) {
        return KNOWN.containsKey(runtime);
    }

    public static List<String> known() {
        return KNOWN.keySet().stream().sorted().toList();
    }

    public Runtime get(String name) {
        Runtime r = KNOWN.get(name);
        if (r == null) throw new IllegalArgumentException("unknown runtime '" + name + "'; known: " + known());
        return r;
    }

    /** The host directory holding this runtime's FDK, refreshed from the jar on each start. */
    public synchronized Path fdkDir(Runtime runtime) throws IOException {
        Path dir = fdkRoot.resolve(runtime.name());
        Files.createDirectories(dir);
        for (String file : runtime.fdkFiles()) {
            String resource = "/skiff/runtimes/" + runtime.name() + "/" + file;
            try (InputStream in = Runtimes.class.getResourceAsStream(resource)) {
                if (in == null) throw new IOException("FDK resource missing: " + resource);
                Path tmp = Files.createTempFile(dir, file, ".tmp");
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, dir.resolve(file), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        return dir;
    }
}
