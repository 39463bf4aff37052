package dev.skiff.gateway;

import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InvocationRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.function.Consumer;

/**
 * An invoker that can pass some calls on without blocking a thread: it sends the call to an
 * invoker in another process from the event loop the call came in on and relays the answer from
 * there. A blocking call runs on a call thread, and costs two thread hand-offs (event loop to call
 * thread, and the answer back), each a wake-up of ~0.05-0.1 ms on a busy 2-vCPU machine: most of
 * what a gateway added to a call at one client.
 */
public interface EventLoopRelay {
    /**
     * Takes the call and answers it on {@code resp} (true), or leaves it to the blocking
     * {@link dev.skiff.invoker.Invoker#invokeStreaming} (false: e.g. it runs in this process).
     * Called on the event loop, with the call's body in memory. A relayed call that finds it must
     * go elsewhere (the invoker could not be reached, or said it cannot take it) hands the rest to
     * {@code blockingRest}, which runs the given target on a call thread and answers as usual.
     */
    boolean relay(FunctionDeployment d, InvocationRequest call, HttpServerResponse resp, boolean http1,
            Consumer<InvocationRoutes.CallTarget> blockingRest);
}
