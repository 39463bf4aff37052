package dev.skiff.gateway;

import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.Invoker;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.jboss.logging.Logger;
import io.smallrye.common.annotation.Blocking;

/** The management API: deploy, list, describe, delete. */
@Path("/v1/functions")
@Produces(MediaType.APPLICATION_JSON)
@Blocking
public class ManagementResource {
    private static final Logger LOG = Logger.getLogger(ManagementResource.class);

    @Inject
    FunctionStore store;

    @Inject
    Invoker invoker;

    @Context
    UriInfo uri;

    /**
     * Deploys a package (gzip'ed tar of the function folder, func.yaml at its top) as the next
     * version. With warm=true (the default) it answers once a replica of the new version is
     * ready, so a function that cannot start is reported now rather than on its first call.
     */
    @PUT
    @Path("/{name}")
    @Consumes({"application/gzip", "application/x-gzip", "application/x-tar+gzip"})
    public Response deploy(@PathParam("name") String name, @QueryParam("warm") @DefaultValue("true") boolean warm, InputStream body)
            throws IOException {
        boolean existed = store.get(name).isPresent();
        FunctionStore.Stored stored = store.deploy(name, body);
        String url = url(name);
        boolean ready = true;
        String message = "deployed";
        if (warm) {
            try {
                invoker.warmUp(stored.deployment());
                message = "ready";
            } catch (InvocationException e) {
                ready = false;
                message = e.getMessage();
            }
        }
        LOG.infof("deployed %s version %d (%s)", name, stored.deployment().version(), ready ? "ready" : "not ready");
        return Response.status(existed ? 200 : 201)
                .entity(new DeployResult(name, stored.deployment().version(), url, ready, message))
                .build();
    }

    @GET
    public List<FunctionView> list() {
        return store.list().stream().map(this::view).toList();
    }

    @GET
    @Path("/{name}")
    public FunctionView describe(@PathParam("name") String name) {
        return view(store.get(name).orElseThrow(() -> notFound(name)));
    }

    @DELETE
    @Path("/{name}")
    public Response delete(@PathParam("name") String name) throws IOException {
        if (!store.delete(name)) throw notFound(name);
        invoker.retire(name);
        return Response.noContent().build();
    }

    private FunctionView view(FunctionStore.Stored s) {
        var d = s.deployment();
        return new FunctionView(d.name(), d.version(), d.config().runtime(), url(d.name()), s.deployedAt(),
                invoker.replicas(d.name()), FunctionView.Limits.of(d.config()));
    }

    private String url(String name) {
        return uri.getBaseUriBuilder().replacePath("/fn/" + name).build().toString();
    }

    static ApiException notFound(String name) {
        return new ApiException(404, "function_not_found", "no function named '" + name + "' is deployed (see ./fn list)");
    }
}
