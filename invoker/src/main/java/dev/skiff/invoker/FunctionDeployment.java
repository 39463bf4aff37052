package dev.skiff.invoker;

import java.nio.file.Path;

/** One deployed version of a function: its settings and its code, unpacked and read-only. */
public record FunctionDeployment(FunctionConfig config, long version, Path codeDir) {
    public String name() {
        return config.name();
    }
}
