package dev.skiff.invoker;

/**
 * What the gateway asks of an invoker. One process holds both roles on a single machine; on a
 * cluster this interface is served over the network (see the gateway issue).
 */
public interface Invoker {
    /** Runs one call on a warm replica, cold-starting one when needed, and reads its whole answer. */
    default InvocationResponse invoke(FunctionDeployment deployment, InvocationRequest request) throws InvocationException {
        StreamedResponse r = invokeStreaming(deployment, request);
        try (java.io.InputStream body = r.body()) {
            return new InvocationResponse(r.status(), r.headers(), body.readAllBytes());
        } catch (java.io.IOException e) {
            throw new InvocationException(502, "function_response_broken",
                    "the response of function " + deployment.name() + " broke off: " + e.getMessage());
        }
    }

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
