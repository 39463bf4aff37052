package dev.skiff.server;

import static io.restassured.RestAssured.given;

/** /q/metrics for assertions: the classic text format writes labels as {a="1",}; tests match {a="1"}. */
final class Metrics {
    private Metrics() {}

    static String page() {
        return given().when().get("/q/metrics").then().statusCode(200).extract().asString().replace(",}", "}");
    }
}
