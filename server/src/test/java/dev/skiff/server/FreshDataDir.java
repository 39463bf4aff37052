package dev.skiff.server;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Map;

/** Each test run starts Skiff with an empty data directory. */
public class FreshDataDir implements QuarkusTestResourceLifecycleManager {
    @Override
    public Map<String, String> start() {
        try {
            return Map.of("skiff.data-dir", Files.createTempDirectory("skiff-test-data").toString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void stop() {}
}
