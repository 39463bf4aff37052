package dev.skiff.gateway;

import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.Invoker;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
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
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.logging.Logger;
import io.smallrye.common.annotation.Blocking;

/** The management API: deploy, list, describe, versions, rollback, delete. */
@Path("/v1/functions")
@Produces(MediaType.APPLICATION_JSON)
@Blocking
@org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement(name = dev.skiff.gateway.auth.TokenResource.BEARER)
@APIResponse(responseCode = "401", description = "no API token, or not a valid one")
@APIResponse(responseCode = "403", description = "an invoke token: the management API needs an admin token")
@Tag(name = "functions", description = "Deploy and manage functions. Errors are {\"error\": code, \"message\": what to fix}.")
public class ManagementResource {
    private static final Logger LOG = Logger.getLogger(ManagementResource.class);
    private static final Object SWITCHES = new Object();

    @Inject
    FunctionStore store;

    @Inject
    Invoker invoker;

    @Inject
    jakarta.enterprise.event.Event<FunctionChanged> changes;

    @Inject
    dev.skiff.invoker.SkiffConfig config;

    @Context
    UriInfo uri;

    /**
     * Deploys a package (gzip'ed tar of the function folder, func.yaml at its top) as the next
     * version; or, with a YAML content type, a func.yaml alone that names an OCI image (a path on
     * this host), unpacked and checked first (a func.yaml without an image needs a package). With
     * warm=true (the default) it answers once a replica of the new version is ready, so a function
     * that cannot start is reported now rather than on its first call.
     */
    @PUT
    @Path("/{name}")
    @Consumes({"application/gzip", "application/x-gzip", "application/x-tar+gzip",
            "application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml"})
    @Operation(summary = "Deploy the next version of a function",
            description = "The body is a gzip'ed tar of the function folder with func.yaml at its top (application/gzip), or a func.yaml "
                    + "alone that names an OCI image on the Skiff host with image: PATH (application/yaml; the image is unpacked and "
                    + "checked at deploy and is the replica's read-only root). The new version takes new calls at once; running calls "
                    + "finish on the old one. With warm=true (default) the answer waits for its first replica.")
    @APIResponse(responseCode = "201", description = "first version deployed")
    @APIResponse(responseCode = "200", description = "a new version of an existing function deployed")
    @APIResponse(responseCode = "400", description = "bad package, func.yaml, name or image; a func.yaml body without an image; nothing was stored")
    @APIResponse(responseCode = "415", description = "the body is not application/gzip or application/yaml")
    public Response deploy(@PathParam("name") String name, @QueryParam("warm") @DefaultValue("true") boolean warm,
            @HeaderParam("Content-Type") String contentType,
            @RequestBody(content = {
                @Content(mediaType = "application/gzip", schema = @Schema(type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING, format = "binary")),
                @Content(mediaType = "application/yaml", schema = @Schema(type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING))})
            InputStream body) throws IOException {
        if (contentType == null || !contentType.toLowerCase(java.util.Locale.ROOT).contains("yaml")) {
            return deployed(name, warm, () -> store.deploy(name, body));
        }
        byte[] yaml = body.readNBytes(MAX_YAML_BYTES + 1);
        if (yaml.length > MAX_YAML_BYTES) {
            throw new ApiException(413, "payload_too_large", "a func.yaml body may be at most " + (MAX_YAML_BYTES >> 10) + " KiB");
        }
        return deployed(name, warm, () -> store.deployYaml(name, yaml));
    }

    private static final int MAX_YAML_BYTES = 64 << 10;

    /** Deploy's common part: store and switch, then (with warm) wait for the first replica. */
    private Response deployed(String name, boolean warm, StoreChange deploy) throws IOException {
        refuseOnInvokerOnlyNode();
        boolean existed = store.get(name).isPresent();
        FunctionStore.Stored stored = activate(deploy);
        Switched switched = warmUp(stored.deployment(), warm);
        LOG.infof("deployed %s version %d (%s)", name, stored.deployment().version(), switched.ready() ? "ready" : "not ready");
        return Response.status(existed ? 200 : 201)
                .entity(new DeployResult(name, stored.deployment().version(), url(name), switched.ready(), switched.message()))
                .build();
    }

    @GET
    @Operation(summary = "List the deployed functions")
    public List<FunctionView> list() {
        return store.list().stream().map(this::view).toList();
    }

    @GET
    @Path("/{name}")
    @Operation(summary = "Describe a function",
            description = "Current version, status (ready, starting, failing, idle), replicas warm, starting and desired, URL, limits "
                    + "and when this version became current.")
    @APIResponse(responseCode = "404", description = "no such function")
    public FunctionView describe(@PathParam("name") String name) {
        return view(store.get(name).orElseThrow(() -> notFound(name)));
    }

    @GET
    @Path("/{name}/versions")
    @Operation(summary = "List a function's stored versions", description = "Oldest first; every version is kept until the function is deleted.")
    @APIResponse(responseCode = "404", description = "no such function")
    public List<VersionView> versions(@PathParam("name") String name) throws IOException {
        if (store.get(name).isEmpty()) throw notFound(name);
        return store.versions(name).stream().map(VersionView::of).toList();
    }

    @POST
    @Path("/{name}/rollback")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Make a stored version current again",
            description = "Body {\"version\": N}. New calls go to version N at once; running calls finish on the version they started on. "
                    + "The choice survives a restart. Answers with the function as describe shows it.")
    @APIResponse(responseCode = "400", description = "the body is not {\"version\": N}")
    @APIResponse(responseCode = "404", description = "no such function or version")
    public FunctionView rollback(@PathParam("name") String name,
            @RequestBody(content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = RollbackRequest.class)))
            String body) throws IOException {
        refuseOnInvokerOnlyNode();
        RollbackRequest request = RollbackRequest.parse(body);
        FunctionStore.Stored stored = activate(() -> store.rollback(name, request.version()));
        Switched switched = warmUp(stored.deployment(), true);
        LOG.infof("rolled %s back to version %d (%s)", name, request.version(), switched.message());
        return view(stored);
    }

    @DELETE
    @Path("/{name}")
    @Operation(summary = "Delete a function", description = "Running calls finish first; then its replicas stop and every version is removed.")
    @APIResponse(responseCode = "204", description = "deleted")
    @APIResponse(responseCode = "404", description = "no such function")
    public Response delete(@PathParam("name") String name) throws IOException {
        refuseOnInvokerOnlyNode();
        synchronized (SWITCHES) {
            if (!store.delete(name)) throw notFound(name);
            changes.fire(new FunctionChanged(name, null));
        }
        invoker.retire(name);
        return Response.noContent().build();
    }

    private interface StoreChange {
        FunctionStore.Stored apply() throws IOException;
    }

    /**
     * Changes the current version in the store and hands it to the invoker, the one path deploy
     * and rollback share: new calls go to it at once, old replicas drain. One switch at a time, so
     * a deploy and a rollback racing leave the invoker on the version the store ends with.
     */
    private FunctionStore.Stored activate(StoreChange change) throws IOException {
        synchronized (SWITCHES) {
            FunctionStore.Stored stored = change.apply();
            invoker.activate(stored.deployment());
            changes.fire(new FunctionChanged(stored.deployment().name(), stored));
            // Read again: with several gateways the function catalog may have moved this upload to
            // another number (another gateway deployed the same number first).
            return store.get(stored.deployment().name()).orElse(stored);
        }
    }

    /** With warm, waits for the first replica and says "ready" or why it could not start; otherwise "deployed". */
    private Switched warmUp(FunctionDeployment deployment, boolean warm) {
        if (!warm) return new Switched(true, "deployed");
        try {
            invoker.warmUp(deployment);
            return new Switched(true, "ready");
        } catch (InvocationException e) {
            return new Switched(false, e.getMessage());
        }
    }

    private record Switched(boolean ready, String message) {}

    private FunctionView view(FunctionStore.Stored s) {
        String name = s.deployment().name();
        return FunctionView.of(s, url(name), invoker.status(name));
    }

    private String url(String name) {
        return uri.getBaseUriBuilder().replacePath("/fn/" + name).build().toString();
    }

    /** An invoker-only node holds a copy of the function catalog: changes go through a gateway. */
    private void refuseOnInvokerOnlyNode() {
        if (!config.role().gateway()) {
            throw new ApiException(409, "not_a_gateway", "this Skiff runs only the invoker role (skiff.role=invoker); "
                    + "deploy, roll back and delete functions through a gateway");
        }
    }

    static ApiException notFound(String name) {
        return new ApiException(404, "function_not_found", "no function named '" + name + "' is deployed (see ./fn list)");
    }
}
