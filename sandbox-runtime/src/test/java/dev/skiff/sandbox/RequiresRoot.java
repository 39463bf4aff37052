package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Gate for tests that need real namespaces and cgroups. Off CI a developer without root sees a
 * skip; under CI=true the same situation is a failure, never a silent skip.
 */
public final class RequiresRoot {
    private RequiresRoot() {}

    public static void check() {
        String missing = HostSupport.whatIsMissing();
        if (missing == null) return;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail("CI=true and this test needs a real sandbox host: " + missing);
        assumeTrue(false, missing);
    }
}
