package dev.skiff.cli;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Shared JSON helpers. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private static final int MAX_RAW = 2000;

    private Json() {
    }

    /** Parses a body, or returns {@code null} if it is empty or not JSON. */
    static JsonNode parse(byte[] body) {
        if (body == null || body.length == 0) {
            return null;
        }
        try {
            return MAPPER.readTree(body);
        } catch (IOException e) {
            return null;
        }
    }

    /** The text of a field, or {@code null} if missing, null or blank. */
    static String text(JsonNode node, String field) {
        if (node == null) {
            return null;
        }
        JsonNode value = node.get(field);
        if (value == null || value.isNull() || value.isContainerNode()) {
            return null;
        }
        String text = value.asText();
        return text.isBlank() ? null : text;
    }

    static String pretty(JsonNode node) throws IOException {
        DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(Separators.Spacing.AFTER));
        printer.indentObjectsWith(indenter);
        printer.indentArraysWith(indenter);
        return MAPPER.writer(printer).writeValueAsString(node);
    }

    /**
     * The human message of an error response: {@code message}, else {@code error} of a JSON body
     * {@code {"error": "...", "message": "..."}}, else the raw body (shortened), else {@code HTTP <status>}.
     */
    static String errorMessage(int status, byte[] body) {
        JsonNode node = parse(body);
        if (node != null && node.isObject()) {
            String message = text(node, "message");
            if (message == null) {
                message = text(node, "error");
            }
            if (message != null) {
                return message;
            }
        }
        String raw = body == null ? "" : new String(body, StandardCharsets.UTF_8).strip();
        if (raw.isEmpty()) {
            return "HTTP " + status;
        }
        return raw.length() > MAX_RAW ? raw.substring(0, MAX_RAW) + "..." : raw;
    }
}
