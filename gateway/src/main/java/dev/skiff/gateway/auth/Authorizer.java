package dev.skiff.gateway.auth;

import dev.skiff.gateway.ApiException;
import dev.skiff.gateway.auth.TokenStore.Scope;
import dev.skiff.gateway.auth.TokenStore.Token;
import dev.skiff.invoker.FunctionConfig;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Who may do what, decided from the {@code Authorization} header alone, with no I/O: the
 * management API needs an admin token; a function with {@code auth: token} needs an invoke or
 * admin token; any other function is public. Every entry point applies it with one call:
 * {@link ManagementGuard} for everything under /v1, the invocation routes for /fn (and
 * /async/fn), and a result lookup such as {@code GET /v1/calls/{id}} with
 * {@code forInvocation(callsFunction, header).orThrow()}.
 */
public final class Authorizer {
    static final String REALM = "Bearer realm=\"skiff\"";

    /**
     * The answer: allowed (with the token, or none for a public function), or the status
     * (401 or 403), error code, message and {@code WWW-Authenticate} challenge to answer with.
     */
    public record Outcome(int status, String error, String message, String challenge, Token token) {
        static Outcome allow(Token token) {
            return new Outcome(200, null, null, null, token);
        }

        public boolean allowed() {
            return status == 200;
        }

        /** For JAX-RS resources: returns the token (null for a public function) or throws the refusal as an ApiException. */
        public Token orThrow() {
            if (allowed()) return token;
            throw new ApiException(status, error, message, Map.of("WWW-Authenticate", challenge));
        }
    }

    private final TokenStore tokens;
    private final String howToGetOne;

    /** @param credentialsFile where the first start wrote the admin token, for the messages */
    public Authorizer(TokenStore tokens, String credentialsFile) {
        this.tokens = tokens;
        this.howToGetOne = "Skiff's first start (fn up) wrote an admin token to " + credentialsFile
                + ", where the fn CLI finds it (or pass --token / SKIFF_TOKEN); an admin makes more with 'fn token create'";
    }

    public TokenStore tokens() {
        return tokens;
    }

    /** The management API (/v1): an admin token. */
    public Outcome forManagement(String authorization) {
        Outcome who = authenticate(authorization, "the management API");
        if (!who.allowed() || who.token().scope() == Scope.ADMIN) return who;
        Token t = who.token();
        return new Outcome(403, "forbidden", "token '" + t.name() + "' (" + t.id() + ") has scope invoke, which may only call functions;"
                + " the management API needs an admin token (an admin makes one with 'fn token create --scope admin')",
                REALM + ", error=\"insufficient_scope\", scope=\"admin\"", t);
    }

    /** A call to a function (or a look at its results): public unless its func.yaml says {@code auth: token}. */
    public Outcome forInvocation(FunctionConfig function, String authorization) {
        if (!function.tokenRequired()) return Outcome.allow(null);
        // Both scopes may call: admin includes invoke.
        return authenticate(authorization, "function '" + function.name() + "' (func.yaml auth: token)");
    }

    private Outcome authenticate(String authorization, String what) {
        if (authorization == null || authorization.isBlank()) {
            return unauthorized(REALM, what + " needs an API token: send 'Authorization: Bearer <token>'. " + howToGetOne);
        }
        Optional<String> bearer = bearer(authorization);
        if (bearer.isEmpty() || !TokenStore.FORMAT.matcher(bearer.get()).matches()) {
            return unauthorized(REALM + ", error=\"invalid_token\"", "the Authorization header is not 'Bearer " + TokenStore.PREFIX
                    + "…' with a Skiff API token; " + what + " needs one. " + howToGetOne);
        }
        return tokens.find(bearer.get()).map(Outcome::allow).orElseGet(() -> unauthorized(REALM + ", error=\"invalid_token\"",
                "the API token is not valid (unknown or revoked); " + what + " needs a valid one. " + howToGetOne));
    }

    private static Outcome unauthorized(String challenge, String message) {
        return new Outcome(401, "unauthorized", message, challenge, null);
    }

    /** The credentials of {@code Bearer <credentials>} (the scheme is case-insensitive, RFC 9110 §11.1). */
    static Optional<String> bearer(String authorization) {
        String h = authorization.strip();
        int space = h.indexOf(' ');
        if (space < 0 || !h.substring(0, space).toLowerCase(Locale.ROOT).equals("bearer")) return Optional.empty();
        return Optional.of(h.substring(space + 1).strip());
    }

    /** Whether a request header carries one of Skiff's own tokens, which must never reach a function. */
    public static boolean isSkiffCredential(String name, String value) {
        return name.equalsIgnoreCase("Authorization") && bearer(value).map(b -> b.startsWith(TokenStore.PREFIX)).orElse(false);
    }
}
