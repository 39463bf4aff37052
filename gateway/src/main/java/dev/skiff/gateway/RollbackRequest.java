package dev.skiff.gateway;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Body of {@code POST /v1/functions/{name}/rollback}: {@code {"version": N}}. Parsed here rather
 * than by the framework so that every mistake gets a message that says what to send.
 */
public record RollbackRequest(long version) {
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final String SHAPE = "send {\"version\": N} with N a version listed by GET /v1/functions/{name}/versions";

    static RollbackRequest parse(String body) {
        JsonNode node;
        try {
            node = body == null || body.isBlank() ? null : JSON.readTree(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ApiException(400, "malformed_json", "the body is not valid JSON (" + e.getOriginalMessage() + "); " + SHAPE);
        }
        if (node == null || !node.isObject()) throw new ApiException(400, "bad_request", "the body must be a JSON object; " + SHAPE);
        var names = node.fieldNames();
        while (names.hasNext()) {
            String key = names.next();
            if (!key.equals("version")) throw new ApiException(400, "unknown_field", "unknown field '" + key + "'; " + SHAPE);
        }
        JsonNode version = node.get("version");
        if (version == null || !version.canConvertToLong() || !version.isIntegralNumber() || version.asLong() < 1) {
            throw new ApiException(400, "bad_version", "'version' must be a whole number of 1 or more; " + SHAPE);
        }
        return new RollbackRequest(version.asLong());
    }
}
