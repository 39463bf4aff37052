package dev.skiff.gateway;

import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Every error from the management API leaves as JSON, including the framework's own 404/405/415. */
public class ApiExceptionMappers {
    @ServerExceptionMapper
    public Response api(ApiException e) {
        Response.ResponseBuilder r = Response.status(e.status()).type(MediaType.APPLICATION_JSON)
                .entity(new ApiError(e.error(), e.getMessage()).toJson());
        e.headers().forEach(r::header);
        return r.build();
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e, jakarta.ws.rs.core.UriInfo uri) {
        int status = e.getResponse().getStatus();
        String error = switch (status) {
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 406 -> "not_acceptable";
            case 413 -> "payload_too_large";
            case 415 -> "unsupported_media_type";
            default -> "bad_request";
        };
        String message = status == 415 ? expectedContentType(uri.getPath()) : e.getMessage();
        return json(status, error, message);
    }

    /** Three endpoints take a body: rollback and token creation take JSON, deploy a package or an image's func.yaml. */
    private static String expectedContentType(String path) {
        if (path.endsWith("/rollback")) return "send {\"version\": N} with Content-Type: application/json";
        if (path.startsWith("/v1/tokens")) return "send {\"name\": \"…\", \"scope\": \"invoke\" or \"admin\"} with Content-Type: application/json";
        return "send the function package as a gzip'ed tar with Content-Type: application/gzip,"
                + " or a func.yaml that names an image with Content-Type: application/yaml";
    }

    static Response json(int status, String error, String message) {
        return Response.status(status).type(MediaType.APPLICATION_JSON).entity(new ApiError(error, message).toJson()).build();
    }
}
