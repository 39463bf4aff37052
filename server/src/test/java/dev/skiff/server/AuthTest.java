package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * API tokens over real sockets: the management API needs an admin token, a function with
 * {@code auth: token} needs any token, every other function none; 401 and 403 say which and how to
 * get one; tokens are stored hashed and the first one reaches the CLI's credentials file only.
 */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class AuthTest {
    static final String ECHO_AUTH = """
            def handle(event, context):
                return "authorization=" + str(event.headers.get("authorization"))
            """;

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    static String createToken(String name, String scope) {
        return given().contentType("application/json").body(Map.of("name", name, "scope", scope))
                .when().post("/v1/tokens").then().statusCode(201)
                .body("scope", equalTo(scope)).body("name", equalTo(name)).body("token", startsWith("skiff_"))
                .extract().path("token");
    }

    static String idOf(String name) {
        List<Map<String, Object>> tokens = given().when().get("/v1/tokens").then().statusCode(200).extract().jsonPath().getList("$");
        return tokens.stream().filter(t -> name.equals(t.get("name"))).map(t -> (String) t.get("id")).findFirst().orElseThrow();
    }

    static void assertUnauthorized(io.restassured.response.ValidatableResponse r) {
        r.statusCode(401)
                .header("WWW-Authenticate", startsWith("Bearer realm=\"skiff\""))
                .contentType("application/json")
                .body("error", equalTo("unauthorized"))
                .body("message", containsString(FreshDataDir.credentialsFile().toString()))
                .body("message", containsString("fn token create"));
    }

    @Test
    void noTokenOnTheManagementApiIs401WithAChallengeAndJsonSayingHowToGetOne() {
        assertUnauthorized(given().auth().none().when().get("/v1/functions").then());
        given().auth().none().when().get("/v1/functions").then().header("WWW-Authenticate", equalTo("Bearer realm=\"skiff\""));
        assertUnauthorized(given().auth().none().when().get("/v1/tokens").then());
        // The Vert.x logs route is guarded like the JAX-RS resources, before it looks the function up.
        assertUnauthorized(given().auth().none().when().get("/v1/functions/ghost/logs").then());
        assertUnauthorized(given().auth().none().when().delete("/v1/functions/ghost").then());
        // Health, metrics and the OpenAPI document stay public.
        given().auth().none().when().get("/q/health/live").then().statusCode(200);
        given().auth().none().when().get("/q/metrics").then().statusCode(200);
        given().auth().none().when().get("/q/openapi").then().statusCode(200);
    }

    @Test
    void aDeployWithoutATokenStoresNothing() throws Exception {
        assertUnauthorized(given().auth().none().contentType("application/gzip").body(Functions.pack("sneaky", "", ECHO_AUTH))
                .when().put("/v1/functions/sneaky").then());
        given().when().get("/v1/functions/sneaky").then().statusCode(404);
        given().auth().none().when().post("/fn/sneaky").then().statusCode(404);
    }

    @Test
    void aWrongOrMalformedTokenIs401() {
        assertUnauthorized(given().auth().oauth2("skiff_" + "A".repeat(43)).when().get("/v1/functions").then()
                .header("WWW-Authenticate", containsString("error=\"invalid_token\""))
                .body("message", containsString("not valid")));
        String admin = FreshDataDir.adminToken();
        assertUnauthorized(given().auth().oauth2(admin.substring(0, admin.length() - 1) + (admin.endsWith("A") ? "B" : "A"))
                .when().get("/v1/functions").then());
        assertUnauthorized(given().auth().none().header("Authorization", "Basic " + admin).when().get("/v1/functions").then());
        assertUnauthorized(given().auth().none().header("Authorization", admin).when().get("/v1/functions").then());
    }

    @Test
    void pathsThatRouteToV1AreGuardedToo() throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        for (String path : List.of("//v1/functions", "/v1//functions", "/fn/../v1/functions", "/%761/functions", "/v1/%66unctions")) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + RestAssured.port + path)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertTrue(r.statusCode() == 401 || r.statusCode() == 404, path + " answered " + r.statusCode() + " " + r.body());
            assertFalse(r.body().startsWith("["), path + " listed the functions: " + r.body());
        }
    }

    @Test
    void anInvokeTokenOnTheManagementApiIs403SayingAnAdminTokenIsNeeded() {
        String invoke = createToken("ci-403", "invoke");
        given().auth().oauth2(invoke).when().get("/v1/functions").then().statusCode(403)
                .contentType("application/json")
                .header("WWW-Authenticate", containsString("error=\"insufficient_scope\""))
                .body("error", equalTo("forbidden"))
                .body("message", containsString("admin token"));
        given().auth().oauth2(invoke).contentType("application/json").body("{\"scope\": \"admin\"}")
                .when().post("/v1/tokens").then().statusCode(403);
        given().auth().oauth2(invoke).when().get("/v1/functions/ghost/logs").then().statusCode(403);
        given().when().delete("/v1/tokens/" + idOf("ci-403")).then().statusCode(204);
    }

    @Test
    void adminTokensManage() {
        given().auth().oauth2(FreshDataDir.adminToken()).when().get("/v1/functions").then().statusCode(200);
        String second = createToken("second-admin", "admin");
        given().auth().oauth2(second).when().get("/v1/tokens").then().statusCode(200).body("name", hasItem("second-admin"));
        given().auth().oauth2(second).when().delete("/v1/tokens/" + idOf("second-admin")).then().statusCode(204);
        assertUnauthorized(given().auth().oauth2(second).when().get("/v1/functions").then());
    }

    @Test
    void aFunctionWithAuthTokenNeedsAnyTokenAndNeverSeesIt() throws Exception {
        WalkingSkeletonTest.deploy("locked", Functions.pack("locked", "auth: token\n", ECHO_AUTH), 201);
        WalkingSkeletonTest.deploy("open", Functions.pack("open", "", ECHO_AUTH), 201);
        String invoke = createToken("caller", "invoke");

        given().auth().none().body("x").when().post("/fn/locked").then().statusCode(401)
                .header("WWW-Authenticate", equalTo("Bearer realm=\"skiff\""))
                .header("X-Call-Id", org.hamcrest.Matchers.notNullValue())
                .body("error", equalTo("unauthorized"))
                .body("message", containsString("locked"));
        given().auth().oauth2("skiff_" + "C".repeat(43)).when().get("/fn/locked/sub").then().statusCode(401);
        given().auth().oauth2(invoke).when().get("/fn/locked").then().statusCode(200).body(equalTo("authorization=None"));
        given().auth().oauth2(FreshDataDir.adminToken()).when().get("/fn/locked").then().statusCode(200)
                .body(equalTo("authorization=None"));

        given().auth().none().when().get("/fn/open").then().statusCode(200).body(equalTo("authorization=None"));
        // A function's own credentials pass through; Skiff's are stripped.
        given().auth().none().header("Authorization", "Bearer their-own").when().get("/fn/open").then().statusCode(200)
                .body(equalTo("authorization=Bearer their-own"));
        given().auth().oauth2(invoke).when().get("/fn/open").then().statusCode(200).body(equalTo("authorization=None"));

        given().when().delete("/v1/tokens/" + idOf("caller")).then().statusCode(204);
    }

    @Test
    void aRevokedTokenIsRefusedAtOnce() throws Exception {
        WalkingSkeletonTest.deploy("locked-revoke", Functions.pack("locked-revoke", "auth: token\n", ECHO_AUTH), 201);
        String invoke = createToken("soon-gone", "invoke");
        given().auth().oauth2(invoke).when().get("/fn/locked-revoke").then().statusCode(200);
        given().when().delete("/v1/tokens/" + idOf("soon-gone")).then().statusCode(204);
        given().auth().oauth2(invoke).when().get("/fn/locked-revoke").then().statusCode(401)
                .body("message", containsString("not valid"));
        given().when().get("/v1/tokens").then().body("name", not(hasItem("soon-gone")));
        given().when().delete("/v1/tokens/" + idOf("fn-up").replace("tok_", "tok_0")).then().statusCode(404)
                .body("error", equalTo("token_not_found"));
    }

    @Test
    void theLastAdminTokenCannotBeRevoked() {
        List<String> admins = given().when().get("/v1/tokens").then().extract().jsonPath().getList("findAll { it.scope == 'admin' }.name");
        assertEquals(List.of("fn-up"), admins);
        given().when().delete("/v1/tokens/" + idOf("fn-up")).then().statusCode(409)
                .body("error", equalTo("last_admin_token"));
        given().when().get("/v1/functions").then().statusCode(200);
    }

    @Test
    void badTokenRequestsAre400Or415() {
        given().contentType("application/json").body("{\"scope\": \"root\"}").when().post("/v1/tokens").then().statusCode(400)
                .body("error", equalTo("bad_scope")).body("message", containsString("'root'"));
        given().contentType("application/json").body("{\"name\": \"x\", \"scopes\": \"admin\"}").when().post("/v1/tokens").then()
                .statusCode(400).body("error", equalTo("unknown_field"));
        given().contentType("application/json").body("{\"name\": \"has space\"}").when().post("/v1/tokens").then()
                .statusCode(400).body("error", equalTo("bad_name"));
        given().contentType("application/json").body("{").when().post("/v1/tokens").then().statusCode(400)
                .body("error", equalTo("malformed_json"));
        given().contentType("text/plain").body("x").when().post("/v1/tokens").then().statusCode(415)
                .body("message", containsString("scope"));
    }

    @Test
    void tokensAreStoredHashedAndListedWithoutSecrets() throws Exception {
        String invoke = createToken("hashed", "invoke");
        String admin = FreshDataDir.adminToken();
        Path tokensJson = Path.of(ConfigProvider.getConfig().getValue("skiff.data-dir", String.class), "auth", "tokens.json");
        String stored = Files.readString(tokensJson);
        for (String token : List.of(admin, invoke)) {
            assertFalse(stored.contains(token.substring("skiff_".length())), "plaintext in tokens.json");
            String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
            assertTrue(stored.contains(hash), "hash missing from tokens.json");
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tokensJson)));

        JsonPath list = given().when().get("/v1/tokens").then().statusCode(200).extract().jsonPath();
        String listed = list.prettify();
        assertFalse(listed.contains(invoke.substring(6)) || listed.contains(admin.substring(6)), listed);
        assertFalse(listed.contains("sha256") || listed.contains("\"token\""), listed);
        assertTrue(list.getList("name").containsAll(List.of("fn-up", "hashed")), listed);
        given().when().delete("/v1/tokens/" + idOf("hashed")).then().statusCode(204);
    }

    @Test
    void theCredentialsFileIsPrivateAndItsTokenWorks() throws Exception {
        Path file = FreshDataDir.credentialsFile();
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));
        String token = FreshDataDir.adminToken();
        assertTrue(token.matches("skiff_[A-Za-z0-9_-]{43}"), "not a token");
        given().auth().oauth2(token).when().get("/v1/tokens").then().statusCode(200).body("name", hasItem("fn-up"));
    }

    @Test
    void theOpenApiDocumentDeclaresTheBearerScheme() {
        JsonPath doc = given().auth().none().queryParam("format", "json").when().get("/q/openapi").then().statusCode(200)
                .extract().jsonPath();
        assertEquals("http", doc.getString("components.securitySchemes.bearer.type"));
        assertEquals("bearer", doc.getString("components.securitySchemes.bearer.scheme"));
        assertTrue(doc.getMap("paths").containsKey("/v1/tokens"));
        assertTrue(doc.getString("paths.'/v1/functions'.get.security").contains("bearer"), doc.getString("paths.'/v1/functions'.get.security"));
    }
}
