package dev.skiff.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.gateway.ApiException;
import dev.skiff.gateway.auth.TokenStore.Scope;
import dev.skiff.invoker.FunctionConfigParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The token store, the first-start token and the authorization rules, without Quarkus. */
class TokenStoreTest {
    @TempDir
    Path dir;

    Path file() {
        return dir.resolve("auth").resolve("tokens.json");
    }

    @Test
    void tokensLookRightAndOnlyTheirHashesAreStored() throws IOException {
        TokenStore store = TokenStore.open(file());
        TokenStore.Created a = store.create("ci", Scope.INVOKE);
        TokenStore.Created b = store.create("ops", Scope.ADMIN);
        assertTrue(a.plaintext().matches("skiff_[A-Za-z0-9_-]{43}"), a.plaintext());
        assertNotEquals(a.plaintext(), b.plaintext());
        assertNotEquals(a.token().id(), b.token().id());

        String json = Files.readString(file());
        for (TokenStore.Created c : List.of(a, b)) {
            assertFalse(json.contains(c.plaintext()), "plaintext stored");
            assertFalse(json.contains(c.plaintext().substring(TokenStore.PREFIX.length())), "secret part stored");
            assertTrue(json.contains(HexFormat.of().formatHex(TokenStore.sha256(c.plaintext()))), "hash missing: " + json);
            assertTrue(json.contains(c.token().id()));
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file())));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file().getParent())));
        try (var leftovers = Files.list(file().getParent())) {
            assertEquals(List.of(file()), leftovers.toList(), "no temporary files left");
        }
    }

    @Test
    void findsByPlaintextAcrossARestartAndNothingElse() throws IOException {
        TokenStore.Created c = TokenStore.open(file()).create("ci", Scope.INVOKE);
        TokenStore reopened = TokenStore.open(file());
        assertEquals(c.token(), reopened.find(c.plaintext()).orElseThrow());
        String other = "skiff_" + "A".repeat(43);
        assertTrue(reopened.find(other).isEmpty());
        assertTrue(reopened.find(c.plaintext() + "x").isEmpty());
        assertTrue(reopened.find(c.plaintext().substring(1)).isEmpty());
        // The hash itself is not a credential.
        assertTrue(reopened.find(HexFormat.of().formatHex(TokenStore.sha256(c.plaintext()))).isEmpty());
        assertTrue(reopened.find(null).isEmpty());
    }

    @Test
    void revokedAtOnceAndAfterARestartButNeverTheLastAdmin() throws IOException {
        TokenStore store = TokenStore.open(file());
        TokenStore.Created first = store.create("first", Scope.ADMIN);
        TokenStore.Created invoke = store.create("ci", Scope.INVOKE);
        assertEquals(TokenStore.Revoked.LAST_ADMIN, store.revoke(first.token().id()));
        assertTrue(store.find(first.plaintext()).isPresent());

        assertEquals(TokenStore.Revoked.REVOKED, store.revoke(invoke.token().id()));
        assertTrue(store.find(invoke.plaintext()).isEmpty());
        assertEquals(TokenStore.Revoked.NOT_FOUND, store.revoke(invoke.token().id()));

        TokenStore.Created second = store.create("second", Scope.ADMIN);
        assertEquals(TokenStore.Revoked.REVOKED, store.revoke(first.token().id()));
        TokenStore reopened = TokenStore.open(file());
        assertTrue(reopened.find(first.plaintext()).isEmpty());
        assertTrue(reopened.find(invoke.plaintext()).isEmpty());
        assertEquals(List.of(second.token()), reopened.list());
    }

    @Test
    void theFirstAdminTokenIsCreatedOnceAcrossRestarts() throws IOException {
        List<String> delivered = new ArrayList<>();
        var created = TokenStore.open(file()).createFirstAdmin("fn-up", delivered::add).orElseThrow();
        assertEquals(Scope.ADMIN, created.scope());
        assertEquals(1, delivered.size());

        TokenStore restarted = TokenStore.open(file());
        assertTrue(restarted.createFirstAdmin("fn-up", delivered::add).isEmpty());
        assertEquals(1, delivered.size(), "delivered again on restart");
        assertEquals(List.of(created), restarted.list());
        assertEquals(created, restarted.find(delivered.get(0)).orElseThrow());
    }

    @Test
    void aFailedDeliveryStoresNothing() throws IOException {
        TokenStore store = TokenStore.open(file());
        assertThrows(IOException.class, () -> store.createFirstAdmin("fn-up", p -> {
            throw new IOException("disk full");
        }));
        assertTrue(store.isEmpty());
        assertFalse(Files.exists(file()));
    }

    @Test
    void badNamesAndADamagedFileAreRefused() throws IOException {
        TokenStore store = TokenStore.open(file());
        for (String bad : List.of("", " x", "a b", "x".repeat(65), "-x", "tab\t")) {
            assertThrows(IllegalArgumentException.class, () -> store.create(bad, Scope.INVOKE), bad);
        }
        Files.createDirectories(file().getParent());
        Files.writeString(file(), "{\"tokens\": [{\"id\": \"x\", \"scope\": \"root\"}]}");
        IOException e = assertThrows(IOException.class, () -> TokenStore.open(file()));
        assertTrue(e.getMessage().contains("tokens.json"), e.getMessage());
    }

    @Test
    void theCredentialsFileGetsTheTokenModeAndKeepsOtherGateways() throws IOException {
        Path creds = dir.resolve("home/.config/skiff/credentials");
        Files.createDirectories(creds.getParent());
        Files.writeString(creds, "http://other:9000 skiff_keepme\ndefault skiff_old\n");
        CredentialsFile.put(creds, Map.of("default", "skiff_new"));
        List<String> lines = Files.readAllLines(creds, StandardCharsets.UTF_8);
        assertTrue(lines.contains("http://other:9000 skiff_keepme"), lines.toString());
        assertTrue(lines.contains("default skiff_new"), lines.toString());
        assertFalse(lines.contains("default skiff_old"), lines.toString());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(creds)));

        Path fresh = dir.resolve("fresh/sub/credentials");
        CredentialsFile.put(fresh, Map.of("default", "skiff_x"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh.getParent())));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)));
    }

    @Test
    void authorizerRules() throws Exception {
        TokenStore store = TokenStore.open(file());
        String admin = store.create("a", Scope.ADMIN).plaintext();
        String invoke = store.create("i", Scope.INVOKE).plaintext();
        Authorizer auth = new Authorizer(store, "/home/x/.config/skiff/credentials");
        var open = FunctionConfigParser.parse("name: open\nruntime: python\n");
        var closed = FunctionConfigParser.parse("name: closed\nruntime: python\nauth: token\n");

        assertTrue(auth.forManagement("Bearer " + admin).allowed());
        assertTrue(auth.forManagement("bearer   " + admin + " ").allowed());
        Authorizer.Outcome forbidden = auth.forManagement("Bearer " + invoke);
        assertEquals(403, forbidden.status());
        assertEquals("forbidden", forbidden.error());
        assertTrue(forbidden.message().contains("admin"), forbidden.message());
        for (String bad : new String[] {null, "", "Bearer", "Basic " + admin, admin, "Bearer skiff_nope", "Bearer skiff_" + "A".repeat(43)}) {
            Authorizer.Outcome o = auth.forManagement(bad);
            assertEquals(401, o.status(), String.valueOf(bad));
            assertEquals("unauthorized", o.error());
            assertTrue(o.challenge().startsWith("Bearer realm=\"skiff\""), o.challenge());
            assertTrue(o.message().contains("/home/x/.config/skiff/credentials") && o.message().contains("fn token create"), o.message());
        }

        assertTrue(auth.forInvocation(open, null).allowed());
        assertTrue(auth.forInvocation(open, "Bearer whatever").allowed(), "a public function does not look at the header");
        assertEquals(401, auth.forInvocation(closed, null).status());
        assertTrue(auth.forInvocation(closed, null).message().contains("closed"));
        assertEquals(401, auth.forInvocation(closed, "Bearer skiff_" + "B".repeat(43)).status());
        assertTrue(auth.forInvocation(closed, "Bearer " + invoke).allowed());
        assertTrue(auth.forInvocation(closed, "Bearer " + admin).allowed());

        ApiException e = assertThrows(ApiException.class, () -> auth.forInvocation(closed, null).orThrow());
        assertEquals(401, e.status());
        assertEquals("Bearer realm=\"skiff\"", e.headers().get("WWW-Authenticate"));
        assertEquals("i", auth.forInvocation(closed, "Bearer " + invoke).orThrow().name());

        assertTrue(Authorizer.isSkiffCredential("authorization", "Bearer " + invoke));
        assertFalse(Authorizer.isSkiffCredential("Authorization", "Bearer their-own-jwt"));
        assertFalse(Authorizer.isSkiffCredential("X-Token", "Bearer " + invoke));
    }

    @Test
    void managementPathsIncludeTheirDisguises() {
        for (String p : List.of("/v1", "/v1/", "/v1/functions", "//v1/functions", "/v1//tokens", "///v1")) {
            assertTrue(ManagementGuard.isManagement(p), p);
        }
        for (String p : List.of("/", "/fn/v1", "/v1x", "/q/health", "/fn/hello/v1/functions")) {
            assertFalse(ManagementGuard.isManagement(p), p);
        }
    }

    // ---- shared between gateways (learn, forget, the listener) --------------------------------

    /** Another gateway's store, in a directory of its own. */
    TokenStore other() throws IOException {
        return TokenStore.open(dir.resolve("other").resolve("tokens.json"));
    }

    @Test
    void theListenerHearsLocalCreationsAndRevocationsWithHashesOnly() throws IOException {
        TokenStore store = TokenStore.open(file());
        List<TokenStore.Hashed> created = new ArrayList<>();
        List<String> revoked = new ArrayList<>();
        store.listen(new TokenStore.Listener() {
            @Override
            public void created(TokenStore.Hashed token) {
                created.add(token);
            }

            @Override
            public void revoked(String id) {
                revoked.add(id);
            }
        });
        TokenStore.Created admin = store.create("ops", Scope.ADMIN);
        TokenStore.Created ci = store.create("ci", Scope.INVOKE);
        assertEquals(List.of(admin.token(), ci.token()), created.stream().map(TokenStore.Hashed::token).toList());
        assertEquals(HexFormat.of().formatHex(TokenStore.sha256(ci.plaintext())), created.get(1).sha256());
        assertEquals(List.of(created.get(1)), store.locals().stream().filter(h -> h.token().id().equals(ci.token().id())).toList());
        assertEquals(created.get(0), store.local(admin.token().id()).orElseThrow());

        assertEquals(TokenStore.Revoked.LAST_ADMIN, store.revoke(admin.token().id()));
        assertEquals(TokenStore.Revoked.NOT_FOUND, store.revoke("tok_000000000000"));
        assertEquals(List.of(), revoked, "refusals are not changes");
        assertEquals(TokenStore.Revoked.REVOKED, store.revoke(ci.token().id()));
        assertEquals(List.of(ci.token().id()), revoked);
    }

    @Test
    void learnedTokensWorkButStayOutOfTheFile() throws IOException {
        TokenStore there = other();
        TokenStore.Created remote = there.create("ci", Scope.INVOKE);
        TokenStore here = TokenStore.open(file());
        TokenStore.Created mine = here.create("mine", Scope.ADMIN);

        assertTrue(here.learn(there.locals().get(0)));
        assertFalse(here.learn(there.locals().get(0)), "the same record again changes nothing");
        assertEquals(remote.token(), here.find(remote.plaintext()).orElseThrow());
        assertEquals(mine.token(), here.find(mine.plaintext()).orElseThrow());
        assertEquals(List.of(mine.token(), remote.token()), here.list());
        assertEquals(List.of(mine.token()), here.locals().stream().map(TokenStore.Hashed::token).toList());
        assertTrue(here.local(remote.token().id()).isEmpty());

        here.create("later", Scope.INVOKE); // writes the file again
        String json = Files.readString(file());
        assertFalse(json.contains(remote.token().id()), "a learned token in this node's file: " + json);
        TokenStore restarted = TokenStore.open(file());
        assertTrue(restarted.find(remote.plaintext()).isEmpty(), "learned tokens are rebuilt from the topic, not the file");
        assertTrue(restarted.find(mine.plaintext()).isPresent());
    }

    @Test
    void aRecordCannotReplaceThisNodesOwnTokenNorCarryABadHash() throws IOException {
        TokenStore here = TokenStore.open(file());
        TokenStore.Created mine = here.create("mine", Scope.INVOKE);
        TokenStore.Hashed forged = new TokenStore.Hashed(new TokenStore.Token(mine.token().id(), "mine", Scope.ADMIN, mine.token().createdAt()),
                HexFormat.of().formatHex(TokenStore.sha256("skiff_" + "A".repeat(43))));
        assertFalse(here.learn(forged));
        assertEquals(Scope.INVOKE, here.find(mine.plaintext()).orElseThrow().scope());
        TokenStore.Token t = new TokenStore.Token("tok_abcdefabcdef", "x", Scope.INVOKE, mine.token().createdAt());
        assertThrows(IllegalArgumentException.class, () -> here.learn(new TokenStore.Hashed(t, "abcd")));
        assertThrows(IllegalArgumentException.class, () -> here.learn(new TokenStore.Hashed(t, "zz".repeat(32))));
        assertEquals(List.of(mine.token()), here.list());
    }

    @Test
    void forgetRefusesLearnedTokensAndTakesOwnOnesOutOfTheFile() throws IOException {
        TokenStore there = other();
        TokenStore.Created remote = there.create("remote", Scope.INVOKE);
        TokenStore here = TokenStore.open(file());
        TokenStore.Created mine = here.create("mine", Scope.ADMIN);
        TokenStore.Created mineToo = here.create("mine-too", Scope.INVOKE);
        here.learn(there.locals().get(0));
        List<String> heard = new ArrayList<>();
        here.listen(new TokenStore.Listener() {
            @Override
            public void created(TokenStore.Hashed token) {
                heard.add("created " + token.token().id());
            }

            @Override
            public void revoked(String id) {
                heard.add("revoked " + id);
            }
        });

        assertTrue(here.forget(remote.token().id()));
        assertTrue(here.find(remote.plaintext()).isEmpty());
        assertFalse(here.forget(remote.token().id()));
        assertTrue(here.forget(mineToo.token().id()), "revoked on another gateway while this one was down");
        assertTrue(here.find(mineToo.plaintext()).isEmpty());
        assertTrue(TokenStore.open(file()).find(mineToo.plaintext()).isEmpty(), "gone from the file too");
        assertTrue(TokenStore.open(file()).find(mine.plaintext()).isPresent());
        assertEquals(List.of(), heard, "changes from elsewhere are not told back");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file())));
    }

    @Test
    void theLastAdminRuleCountsLearnedAdminTokens() throws IOException {
        TokenStore there = other();
        TokenStore.Created remoteAdmin = there.create("remote-admin", Scope.ADMIN);
        TokenStore here = TokenStore.open(file());
        TokenStore.Created mine = here.create("mine", Scope.ADMIN);
        here.learn(there.locals().get(0));

        // Two admin tokens known here: this node's own may go, the remote one is then the last.
        assertEquals(TokenStore.Revoked.REVOKED, here.revoke(mine.token().id()));
        assertEquals(TokenStore.Revoked.LAST_ADMIN, here.revoke(remoteAdmin.token().id()));
        TokenStore.Created again = here.create("again", Scope.ADMIN);
        assertEquals(TokenStore.Revoked.REVOKED, here.revoke(remoteAdmin.token().id()), "a learned token can be revoked here");
        assertTrue(here.find(remoteAdmin.plaintext()).isEmpty());
        assertEquals(List.of(again.token()), here.list());
    }
}
