package dev.skiff.invoker.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Header helpers shared by the request and response records. */
public final class HttpMessage {
    private HttpMessage() {}

    /** A header as it travels: name as sent, value as sent. Order and repeats are kept. */
    public record Header(String name, String value) {}

    /**
     * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, never the message, so a proxy
     * must not pass them on; Content-Length is recomputed by whoever writes the body.
     */
    public static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-authenticate",
            "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
            "content-length", "host");

    public static boolean isHopByHop(String name) {
        return HOP_BY_HOP.contains(name.toLowerCase(Locale.ROOT));
    }

    public static String first(List<Header> headers, String name) {
        for (Header h : headers) if (h.name().equalsIgnoreCase(name)) return h.value();
        return null;
    }

    public static List<Header> endToEnd(List<Header> headers) {
        List<Header> out = new ArrayList<>(headers.size());
        for (Header h : headers) if (!isHopByHop(h.name())) out.add(h);
        return out;
    }
}
