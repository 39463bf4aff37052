package dev.skiff.invoker;

/**
 * What the gateway asks of an invoker. One process holds both roles on a single machine; on a
 * cluster this interface is served over the network (see the gateway issue).
 */
public interface Invoker {
    /** Runs one call on a warm replica, cold-starting one when needed. */
    InvocationResponse invoke(FunctionDeployment deployment, InvocationRequest request) throws InvocationException;

    /**
     * Runs one call and returns as soon as the function's response head is in; the body streams
     * from the returned response, which must be read to the end or closed.
     */
    StreamedResponse invokeStreaming(FunctionDeployment deployment, InvocationRequest request) throws InvocationException;

    /** Makes sure one replica of this version is ready (used by deploy to report a broken function at once). */
    void warmUp(FunctionDeployment deployment) throws InvocationException;

    /**
     * Makes {@code deployment} the version new calls, minScale and scaling decisions use, even
     * when its number is lower than the one before (a rollback). Replicas of other versions take
     * no new calls and stop once their running calls end, as after a deploy.
     */
    void activate(FunctionDeployment deployment);

    /** Replicas warm, starting and desired, and recent start failures, of a function on this node. */
    ReplicaStatus status(String functionName);

    /** Stops every replica of a function, letting in-flight calls finish first. */
    void retire(String functionName);

    /** What the functions on this node printed (tail and follow). */
    FunctionLogs logs();

    /** Replicas (warm sandboxes) of a function on this node right now. */
    int replicas(String functionName);
}
