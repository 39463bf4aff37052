package dev.skiff.server;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.restassured.RestAssured;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Each test run starts Skiff with an empty data directory, and with a state directory and cgroup
 * group of its own: Skiff removes leftover sandboxes of its group at start, so two test runs on
 * one machine (two worktrees) sharing a group would destroy each other's replicas.
 *
 * <p>The CLI's credentials file lives in a home directory of the run's own, where the first start
 * writes the admin token as {@code fn up} does; every test's REST Assured requests then carry
 * that token (a test about refusals opts out with {@code given().auth().none()} or another token).
 */
public class FreshDataDir implements QuarkusTestResourceLifecycleManager {
    static final String CREDENTIALS = "skiff.auth.credentials-file";

    @Override
    public Map<String, String> start() {
        try {
            String run = Long.toString(ProcessHandle.current().pid());
            Path home = Files.createTempDirectory("skiff-test-home");
            return Map.of(
                    "skiff.data-dir", Files.createTempDirectory("skiff-test-data").toString(),
                    "skiff.state-dir", "/run/skiff-test-" + run,
                    "skiff.cgroup-name", "skiff-test-" + run,
                    CREDENTIALS, home.resolve(".config/skiff/credentials").toString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** After the application started (and wrote the token): the admin token for every request. */
    @Override
    public void inject(TestInjector testInjector) {
        RestAssured.authentication = RestAssured.oauth2(adminToken());
    }

    /** The run's home directory, as a user's $HOME: the fn CLI finds the token under it. */
    static Path home() {
        return credentialsFile().getParent().getParent().getParent();
    }

    static Path credentialsFile() {
        return Path.of(ConfigProvider.getConfig().getValue(CREDENTIALS, String.class));
    }

    /** The admin token the first start wrote, read the way the CLI reads it (the "default" line). */
    static String adminToken() {
        try {
            List<String> lines = Files.readAllLines(credentialsFile());
            return lines.stream().map(l -> l.strip().split("\\s+")).filter(w -> w.length == 2 && w[0].equals("default"))
                    .map(w -> w[1]).findFirst().orElseThrow(() -> new IllegalStateException("no default token in " + lines));
        } catch (IOException e) {
            throw new IllegalStateException("the first start did not write " + credentialsFile(), e);
        }
    }

    @Override
    public void stop() {}
}
