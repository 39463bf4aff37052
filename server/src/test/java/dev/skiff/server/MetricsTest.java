package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** /q/metrics shows calls by status, durations, cold starts apart from run time, replicas and resource use. */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class MetricsTest {
    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void callsColdStartsAndReplicasAreExported() throws Exception {
        byte[] pkg = Functions.pack("metered", "", """
                def handle(event, context):
                    if event.body == b"fail":
                        raise RuntimeError("asked to")
                    return "ok"
                """);
        given().contentType("application/gzip").body(pkg).when().put("/v1/functions/metered?warm=false").then().statusCode(201);
        given().when().get("/fn/metered").then().statusCode(200);
        given().when().get("/fn/metered").then().statusCode(200);
        given().body("fail").when().post("/fn/metered").then().statusCode(500);
        for (String line : List.of("skiff_calls_total{function=\"metered\",status=\"200\"} 2.0",
                "skiff_calls_total{function=\"metered\",status=\"500\"} 1.0",
                "skiff_cold_start_duration_seconds_count{function=\"metered\"} 1.0",
                "skiff_call_duration_seconds_count{function=\"metered\"} 3.0",
                "skiff_replicas{function=\"metered\"} 1.0",
                "skiff_in_flight_calls{function=\"metered\"} 0.0",
                "skiff_queue_depth{function=\"metered\"} 0.0")) {
            Metrics.awaitLine(java.util.regex.Pattern.quote(line));
        }
        Metrics.awaitLine("skiff_memory_bytes\\{function=\"metered\"} [1-9][0-9.E]*"); // memory in use is reported
    }

    /** What Prometheus' own linter says of the whole page, with a function deployed and called. */
    @Test
    void theMetricsPagePassesPromtoolCheckMetrics() throws Exception {
        Path promtool = promtool();
        given().contentType("application/gzip").body(Functions.pack("linted", "", "def handle(event, context):\n    return 'ok'\n"))
                .when().put("/v1/functions/linted").then().statusCode(201);
        given().when().get("/fn/linted").then().statusCode(200);
        // What curl sends: the page must come in the classic text format promtool reads.
        String page = given().header("Accept", "*/*").when().get("/q/metrics").then().statusCode(200)
                .header("Content-Type", org.hamcrest.Matchers.startsWith("text/plain")).extract().asString();
        assertTrue(page.contains("skiff_calls_total{function=\"linted\""), "the page holds Skiff's metrics");
        Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(page.getBytes(StandardCharsets.UTF_8));
        }
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "promtool finished");
        // promtool exits 1 on lint problems (e.g. a counter without _total) and 3 on a page it cannot parse.
        java.util.regex.Matcher line = java.util.regex.Pattern.compile("line (\\d+)").matcher(said);
        String where = line.find() ? "\nthat line: " + page.lines().skip(Long.parseLong(line.group(1)) - 1).findFirst().orElse("") : "";
        assertEquals(0, p.exitValue(), "promtool check metrics:\n" + said + where);
    }

    /** promtool on PATH, or the one scripts/setup puts in .tools/bin; under CI=true it must be there. */
    private static Path promtool() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir, "promtool");
            if (Files.isExecutable(p)) return p;
        }
        for (Path p : List.of(Path.of("../.tools/bin/promtool"), Path.of(".tools/bin/promtool"))) {
            if (Files.isExecutable(p)) return p.toAbsolutePath();
        }
        String missing = "promtool is not installed (scripts/setup fetches it into .tools/bin)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail("CI=true: " + missing);
        assumeTrue(false, missing);
        return null;
    }
}
