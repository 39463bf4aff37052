package dev.skiff.server.async;

import dev.skiff.gateway.ApiException;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

/** {@code GET /v1/calls/{id}}: where an async call stands, from any gateway, for skiff.async.result-retention. */
@Path("/v1/calls")
@Produces(MediaType.APPLICATION_JSON)
public class CallsResource {
    @Inject
    CallResults results;

    @Inject
    dev.skiff.gateway.FunctionStore store;

    @Inject
    dev.skiff.gateway.auth.Authorizer authorizer;

    /**
     * As public as the call's function: no token for a public one, a token that may call it for
     * one with {@code auth: token}, an admin token once the function is gone. The call id itself
     * is 122 random bits, not guessable.
     */
    @GET
    @Path("/{id}")
    public CallResult get(@PathParam("id") String id, @jakarta.ws.rs.HeaderParam("Authorization") String authorization) {
        CallResult r = results.get(id).orElseThrow(() -> new ApiException(404, "call_not_found",
                "no async call '" + id + "' is known here (unknown, or its result is older than skiff.async.result-retention)"));
        var fn = store.get(r.function());
        if (fn.isPresent()) authorizer.forInvocation(fn.get().deployment().config(), authorization).orThrow();
        else authorizer.forManagement(authorization).orThrow();
        return r;
    }
}
