package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.regex.Pattern;

/** /q/metrics for assertions: the classic text format writes labels as {a="1",}; tests match {a="1"}. */
final class Metrics {
    private Metrics() {}

    static String page() {
        return given().when().get("/q/metrics").then().statusCode(200).extract().asString().replace(",}", "}");
    }

    /**
     * The page once a line matches {@code lineRegex}, within 15 s; fails with the page otherwise.
     * Counters move when the work is done, which can be a moment after its visible effect (a
     * dead letter is readable before the producer's callback that counts it has run), so a test
     * that saw the effect waits for the count instead of reading the page once.
     */
    static String awaitLine(String lineRegex) throws InterruptedException {
        Pattern line = Pattern.compile("(?m)^" + lineRegex + "$");
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (true) {
            String page = page();
            if (line.matcher(page).find()) return page;
            if (System.nanoTime() > deadline) fail("no line of /q/metrics matched " + lineRegex + " within 15 s:\n" + page);
            Thread.sleep(100);
        }
    }
}
