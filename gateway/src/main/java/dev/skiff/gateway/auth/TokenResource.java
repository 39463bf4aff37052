package dev.skiff.gateway.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.gateway.ApiException;
import dev.skiff.gateway.auth.TokenStore.Scope;
import dev.skiff.gateway.auth.TokenStore.Token;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SecuritySchemeType;
import org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement;
import org.eclipse.microprofile.openapi.annotations.security.SecurityScheme;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.logging.Logger;

/** {@code /v1/tokens}: create, list and revoke API tokens (an admin token is needed, as for all of /v1). */
@Path("/v1/tokens")
@Produces(MediaType.APPLICATION_JSON)
@Blocking
@SecurityScheme(securitySchemeName = TokenResource.BEARER, type = SecuritySchemeType.HTTP, scheme = "bearer",
        description = "An API token (skiff_…): admin for the management API. fn up writes the first one to the fn CLI's credentials file.")
@SecurityRequirement(name = TokenResource.BEARER)
@APIResponse(responseCode = "401", description = "no API token, or not a valid one")
@APIResponse(responseCode = "403", description = "an invoke token: the management API needs an admin token")
@Tag(name = "tokens", description = "API tokens: admin (management API and every function) or invoke (functions with auth: token).")
public class TokenResource {
    /** The OpenAPI security scheme every management endpoint requires. */
    public static final String BEARER = "bearer";
    private static final Logger LOG = Logger.getLogger(TokenResource.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SHAPE = "send {\"name\": \"ci\", \"scope\": \"invoke\"} (scope invoke or admin; name optional)";

    /** A token as listed: never its plaintext nor its hash. */
    public record TokenView(String id, String name, String scope, Instant createdAt) {
        static TokenView of(Token t) {
            return new TokenView(t.id(), t.name(), t.scope().wire(), t.createdAt());
        }
    }

    /** The answer to a creation: the only time the plaintext is shown. */
    public record CreatedView(String id, String name, String scope, Instant createdAt, String token, String message) {}

    public record CreateRequest(String name, String scope) {}

    @Inject
    Authorizer authorizer;

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Create an API token", description = "Body {\"name\": …, \"scope\": \"invoke\" | \"admin\"} (scope defaults to "
            + "invoke, the name to the scope). The answer holds the token itself, shown this once: Skiff keeps only its SHA-256 hash.")
    @APIResponse(responseCode = "201", description = "created; the token is in the answer")
    @APIResponse(responseCode = "400", description = "bad name, scope or body")
    public Response create(@RequestBody(content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(implementation = CreateRequest.class))) String body) throws IOException {
        JsonNode node;
        try {
            node = body == null || body.isBlank() ? JSON.createObjectNode() : JSON.readTree(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ApiException(400, "malformed_json", "the body is not valid JSON (" + e.getOriginalMessage() + "); " + SHAPE);
        }
        if (node == null || !node.isObject()) throw new ApiException(400, "bad_request", "the body must be a JSON object; " + SHAPE);
        for (var names = node.fieldNames(); names.hasNext(); ) {
            String key = names.next();
            if (!key.equals("name") && !key.equals("scope")) throw new ApiException(400, "unknown_field", "unknown field '" + key + "'; " + SHAPE);
        }
        String scopeText = node.hasNonNull("scope") ? node.get("scope").asText() : Scope.INVOKE.wire();
        Scope scope = Scope.parse(scopeText).orElseThrow(() -> new ApiException(400, "bad_scope",
                "scope must be 'invoke' (may call functions, also those with auth: token) or 'admin' (may also manage Skiff), got '"
                        + scopeText + "'"));
        String name = node.hasNonNull("name") ? node.get("name").asText() : scope.wire();
        TokenStore.Created created;
        try {
            created = authorizer.tokens().create(name, scope);
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, "bad_name", e.getMessage());
        }
        Token t = created.token();
        LOG.infof("created API token %s (%s, scope %s)", t.id(), t.name(), t.scope().wire());
        return Response.status(201).entity(new CreatedView(t.id(), t.name(), t.scope().wire(), t.createdAt(), created.plaintext(),
                "store the token now: it is not shown again (Skiff keeps only its hash); revoke it with fn token revoke " + t.id())).build();
    }

    @GET
    @Operation(summary = "List the API tokens", description = "Id, name, scope and creation time; never the token or its hash.")
    public List<TokenView> list() {
        return authorizer.tokens().list().stream().map(TokenView::of).toList();
    }

    @DELETE
    @Path("/{id}")
    @Operation(summary = "Revoke an API token", description = "Refused at once by every later request. The last admin token cannot be revoked.")
    @APIResponse(responseCode = "204", description = "revoked")
    @APIResponse(responseCode = "404", description = "no such token")
    @APIResponse(responseCode = "409", description = "it is the last admin token")
    public Response revoke(@PathParam("id") String id) throws IOException {
        return switch (authorizer.tokens().revoke(id)) {
            case REVOKED -> {
                LOG.infof("revoked API token %s", id);
                yield Response.noContent().build();
            }
            case NOT_FOUND -> throw new ApiException(404, "token_not_found", "no API token with id '" + id + "' (see fn token list)");
            case LAST_ADMIN -> throw new ApiException(409, "last_admin_token", "'" + id + "' is the last admin token: revoking it would"
                    + " lock everyone out of the management API; create another admin token first (fn token create --scope admin)");
        };
    }
}
