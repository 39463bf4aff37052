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

    @GET
    @Path("/{id}")
    public CallResult get(@PathParam("id") String id) {
        return results.get(id).orElseThrow(() -> new ApiException(404, "call_not_found",
                "no async call '" + id + "' is known here (unknown, or its result is older than skiff.async.result-retention)"));
    }
}
