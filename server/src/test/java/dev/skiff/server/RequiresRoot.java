package dev.skiff.server;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.skiff.sandbox.HostSupport;

/** Real sandboxes need root on Linux: off CI a developer without it sees a skip, under CI=true a failure. */
final class RequiresRoot {
    private RequiresRoot() {}

    static void check() {
        String missing = HostSupport.whatIsMissing();
        if (missing == null) return;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail("CI=true and this test needs a real sandbox host: " + missing);
        assumeTrue(false, missing);
    }
}
