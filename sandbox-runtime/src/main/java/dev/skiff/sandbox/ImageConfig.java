package dev.skiff.sandbox;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What an image's config says about running it (the "config" object of the OCI image config).
 * Absent values are empty lists and null strings, never defaults invented here.
 *
 * @param env        {@code KEY=value} strings, in order
 * @param entrypoint the Entrypoint
 * @param cmd        the Cmd (arguments to the entrypoint, or the command when there is none)
 * @param workingDir the WorkingDir, or null
 * @param user       the User as written: a name or number, optionally {@code :group}; or null
 */
public record ImageConfig(List<String> env, List<String> entrypoint, List<String> cmd, String workingDir, String user) {
    public ImageConfig {
        env = List.copyOf(env);
        entrypoint = List.copyOf(entrypoint);
        cmd = List.copyOf(cmd);
        if (workingDir != null && workingDir.isEmpty()) workingDir = null;
        if (user != null && user.isEmpty()) user = null;
    }

    static final ImageConfig EMPTY = new ImageConfig(List.of(), List.of(), List.of(), null, null);

    /** The environment as a map (a later duplicate wins, as in a shell). */
    public Map<String, String> envMap() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : env) {
            int eq = kv.indexOf('=');
            if (eq > 0) m.put(kv.substring(0, eq), kv.substring(eq + 1));
            else if (eq < 0 && !kv.isEmpty()) m.put(kv, "");
        }
        return m;
    }

    /** Entrypoint followed by Cmd: what {@code docker run IMAGE} would execute. May be empty. */
    public List<String> command() {
        List<String> c = new ArrayList<>(entrypoint);
        c.addAll(cmd);
        return c;
    }
}
