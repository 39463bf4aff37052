package dev.skiff.gateway;

import java.time.Instant;

/** One stored version as the versions endpoint lists it. */
public record VersionView(long version, Instant deployedAt, boolean current) {
    static VersionView of(FunctionStore.StoredVersion v) {
        return new VersionView(v.version(), v.deployedAt(), v.current());
    }
}
