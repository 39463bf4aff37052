package dev.skiff.gateway.auth;

import dev.skiff.invoker.SkiffConfig;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

/**
 * Opens the token store at start and, on the very first start (no token at all), creates the
 * admin token {@value #FIRST_TOKEN_NAME} and writes it into the fn CLI's credentials file on this
 * machine: the only copy of its plaintext. Never logged.
 */
@ApplicationScoped
public class AuthSetup {
    private static final Logger LOG = Logger.getLogger(AuthSetup.class);
    static final String FIRST_TOKEN_NAME = "fn-up";

    @Inject
    SkiffConfig config;

    @Produces
    @Singleton
    Authorizer authorizer() throws IOException {
        Path credentials = config.auth().credentialsFile().toAbsolutePath();
        TokenStore store = TokenStore.open(config.dataDir().resolve("auth").resolve("tokens.json"));
        store.createFirstAdmin(FIRST_TOKEN_NAME, plaintext -> {
            try {
                CredentialsFile.put(credentials, entries(plaintext));
            } catch (IOException e) {
                throw new IOException("cannot write the first admin API token to " + credentials + " (" + e
                        + "); no token was stored. Point skiff.auth.credentials-file (fn up: SKIFF_CREDENTIALS) at a file Skiff may write", e);
            }
        }).ifPresentOrElse(
                        t -> LOG.infof("created the first admin API token (%s, id %s) and wrote it to %s (mode 0600), where the fn CLI"
                                + " finds it; Skiff keeps only its hash", t.name(), t.id(), credentials),
                        () -> LOG.infof("%d API token(s); the management API needs an admin token", store.list().size()));
        return new Authorizer(store, credentials.toString());
    }

    /** Creates the authorizer (and the first token) at start rather than at the first request. */
    void start(@Observes StartupEvent ignored, Authorizer authorizer) {
        authorizer.tokens(); // resolves the bean
    }

    /**
     * The default entry, plus the loopback URLs of the configured port (the CLI's default gateway
     * is http://localhost:8080); in tests the port is chosen later, and the default entry serves.
     */
    private static Map<String, String> entries(String token) {
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put(CredentialsFile.DEFAULT, token);
        if (LaunchMode.current() == LaunchMode.NORMAL) {
            int port = ConfigProvider.getConfig().getOptionalValue("quarkus.http.port", Integer.class).orElse(8080);
            entries.put("http://localhost:" + port, token);
            entries.put("http://127.0.0.1:" + port, token);
        }
        return entries;
    }
}
