package dev.skiff.server;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Map;

/**
 * Each test run starts Skiff with an empty data directory, and with a state directory and cgroup
 * group of its own: Skiff removes leftover sandboxes of its group at start, so two test runs on
 * one machine (two worktrees) sharing a group would destroy each other's replicas.
 */
public class FreshDataDir implements QuarkusTestResourceLifecycleManager {
    @Override
    public Map<String, String> start() {
        try {
            String run = Long.toString(ProcessHandle.current().pid());
            return Map.of(
                    "skiff.data-dir", Files.createTempDirectory("skiff-test-data").toString(),
                    "skiff.state-dir", "/run/skiff-test-" + run,
                    "skiff.cgroup-name", "skiff-test-" + run);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void stop() {}
}
