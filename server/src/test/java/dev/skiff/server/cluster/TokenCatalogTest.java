package dev.skiff.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.gateway.auth.TokenStore;
import dev.skiff.gateway.auth.TokenStore.Scope;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a gateway does with fn.tokens as it found it at start (the latest record per token),
 * without a broker: the catalog settles it against this node's token store.
 */
class TokenCatalogTest {
    private static final String ME = "node-me";
    private static final String OTHER = "node-other";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    TokenStore store;
    TokenCatalog catalog;
    /** Another gateway's store, whose records this node reads. */
    TokenStore other;
    final Map<String, TokenCatalog.Latest> topic = new HashMap<>();

    @BeforeEach
    void setUp() throws IOException {
        store = TokenStore.open(tokensJson());
        other = TokenStore.open(dir.resolve("other/tokens.json"));
        catalog = catalogOver(store);
    }

    Path tokensJson() {
        return dir.resolve("me/auth/tokens.json");
    }

    TokenCatalog catalogOver(TokenStore s) {
        TokenCatalog c = new TokenCatalog();
        c.nodeId = ME;
        c.store = s;
        c.unpublishedFile = dir.resolve("me/auth/" + TokenCatalog.UNPUBLISHED_FILE);
        return c;
    }

    /** The record the other gateway published for its token. */
    void publishedByOther(String id) {
        TokenCatalog theirs = catalogOver(other);
        theirs.nodeId = OTHER;
        topic.put(id, new TokenCatalog.Latest(OTHER, theirs.recordOf(id)));
    }

    @Test
    void anotherGatewaysTokensAreLearnedInMemoryAndItsRevocationsRefused() throws IOException {
        TokenStore.Created kept = other.create("kept", Scope.INVOKE);
        TokenStore.Created gone = other.create("gone", Scope.INVOKE);
        publishedByOther(kept.token().id());
        topic.put(gone.token().id(), new TokenCatalog.Latest(OTHER, null));
        store.create("mine", Scope.ADMIN);

        catalog.settle(topic);
        assertEquals(kept.token(), store.find(kept.plaintext()).orElseThrow());
        assertTrue(store.find(gone.plaintext()).isEmpty());
        assertFalse(Files.readString(tokensJson()).contains(kept.token().id()), "learned tokens stay out of this node's file");
    }

    @Test
    void ownTokensWithoutARecordArePublishedAndThoseWithOneAreNot() throws IOException {
        TokenStore.Created onTopic = store.create("on-topic", Scope.ADMIN);
        TokenStore.Created whileAway = store.create("while-away", Scope.INVOKE);
        topic.put(onTopic.token().id(), new TokenCatalog.Latest(ME, catalog.recordOf(onTopic.token().id())));

        catalog.settle(topic);
        assertEquals(Set.of(whileAway.token().id()), catalog.unpublished);
        var record = JSON.readTree(catalog.recordOf(whileAway.token().id()));
        assertEquals("while-away", record.path("name").asText());
        assertEquals("invoke", record.path("scope").asText());
        assertEquals(store.local(whileAway.token().id()).orElseThrow().sha256(), record.path("sha256").asText());
        assertFalse(new String(catalog.recordOf(whileAway.token().id()), StandardCharsets.UTF_8).contains(whileAway.plaintext()));
    }

    @Test
    void aTombstoneForAnOwnTokenTakesItOutOfTheFileAndItIsNeverPublishedAgain() throws IOException {
        TokenStore.Created admin = store.create("admin", Scope.ADMIN);
        TokenStore.Created revokedElsewhere = store.create("revoked-elsewhere", Scope.INVOKE);
        String id = revokedElsewhere.token().id();
        topic.put(admin.token().id(), new TokenCatalog.Latest(ME, catalog.recordOf(admin.token().id())));
        topic.put(id, new TokenCatalog.Latest(OTHER, null));

        catalog.settle(topic);
        assertTrue(store.find(revokedElsewhere.plaintext()).isEmpty());
        assertFalse(Files.readString(tokensJson()).contains(id), "still in tokens.json");
        assertTrue(TokenStore.open(tokensJson()).find(revokedElsewhere.plaintext()).isEmpty());
        assertEquals(Set.of(), catalog.unpublished, "nothing to publish: the revoked token must not come back");
        assertNull(catalog.recordOf(id));
    }

    @Test
    void anOwnRecordOfATokenThisNodeNoLongerHasGetsATombstone() throws IOException {
        // Revoked here while the broker was away (or tokens.json deleted): the topic still has its record.
        TokenStore.Created admin = store.create("admin", Scope.ADMIN);
        TokenStore.Created t = store.create("revoked-here", Scope.INVOKE);
        byte[] record = catalog.recordOf(t.token().id());
        store.revoke(t.token().id());
        topic.put(admin.token().id(), new TokenCatalog.Latest(ME, catalog.recordOf(admin.token().id())));
        topic.put(t.token().id(), new TokenCatalog.Latest(ME, record));

        catalog.settle(topic);
        assertEquals(Set.of(t.token().id()), catalog.unpublished);
        assertNull(catalog.recordOf(t.token().id()), "published as a tombstone");
        assertTrue(store.find(t.plaintext()).isEmpty(), "its own old record does not bring it back");
    }

    @Test
    void anotherGatewaysTokenRevokedHereWhileTheBrokerWasAwayStaysRevoked() throws IOException {
        TokenStore.Created theirs = other.create("theirs", Scope.INVOKE);
        publishedByOther(theirs.token().id());
        // The previous run revoked it but could not publish the tombstone: the id was kept in the file.
        catalog.unpublished.add(theirs.token().id());

        catalog.settle(topic);
        assertTrue(store.find(theirs.plaintext()).isEmpty(), "the record must not resurrect a token revoked here");
        assertEquals(Set.of(theirs.token().id()), catalog.unpublished);
        assertNull(catalog.recordOf(theirs.token().id()), "its tombstone is published");
        assertTrue(Files.readString(catalog.unpublishedFile).contains(theirs.token().id()), "kept across a restart until published");
    }

    @Test
    void aRecordThisSkiffCannotUseIsSkippedAndTheRestApplied() throws IOException {
        TokenStore.Created good = other.create("good", Scope.ADMIN);
        publishedByOther(good.token().id());
        topic.put("tok_badbadbadbad", new TokenCatalog.Latest(OTHER, "{\"scope\":\"root\"}".getBytes(StandardCharsets.UTF_8)));
        topic.put("tok_notjsonnotj", new TokenCatalog.Latest(OTHER, "not json".getBytes(StandardCharsets.UTF_8)));

        catalog.settle(topic);
        assertNotNull(store.find(good.plaintext()).orElse(null));
        assertEquals(1, store.list().size());
    }
}
