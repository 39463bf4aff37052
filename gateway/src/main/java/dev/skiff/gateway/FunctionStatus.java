package dev.skiff.gateway;

import dev.skiff.invoker.ReplicaStatus;

/**
 * A one-word state derived only from what the invoker can see, so it never claims more than it
 * knows: a replica up is "ready"; none up but one coming is "starting"; none up after replicas
 * failed to start or died is "failing"; nothing running (scaled to zero, or never called) is "idle".
 */
enum FunctionStatus {
    READY, STARTING, FAILING, IDLE;

    static FunctionStatus of(ReplicaStatus r) {
        if (r.warm() > 0) return READY;
        if (r.failures() > 0) return FAILING;
        if (r.starting() > 0) return STARTING;
        return IDLE;
    }

    String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
