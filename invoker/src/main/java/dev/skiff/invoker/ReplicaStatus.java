package dev.skiff.invoker;

/**
 * What an invoker knows about a function's replicas right now, for describe.
 *
 * @param warm      replicas that are up (serving or idle)
 * @param starting  replicas being cold-started
 * @param desired   the replica count of the autoscaler's latest decision this invoker applies
 *                  (bounded by minScale and maxScale), or null before the first decision
 * @param failures  replicas in a row that failed to start or died on their own (0 once a call succeeds)
 */
public record ReplicaStatus(int warm, int starting, Integer desired, int failures) {
    public static final ReplicaStatus NONE = new ReplicaStatus(0, 0, null, 0);
}
