package dev.skiff.server.scale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.autoscaler.Decision;
import dev.skiff.autoscaler.LoadSample;
import dev.skiff.invoker.ConcurrencySample;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The JSON on fn.metrics and fn.scale: what is written reads back, and anything else is refused with a reason. */
class ScaleMessagesTest {
    static final Instant AT = Instant.parse("2026-11-22T23:00:00.250Z");

    @Test
    void aSampleReadsBackAsTheAutoscalersLoadSample() throws Exception {
        String json = ScaleMessages.sample(new ConcurrencySample("host-1", "hello", AT, 3, 2, 1, 12));
        assertEquals(new LoadSample("host-1", "hello", AT, 3, 2, 1, 12), ScaleMessages.parseSample(json));
    }

    @Test
    void aDecisionReadsBackWithEachInvokersTarget() throws Exception {
        String json = ScaleMessages.decision("hello", new Decision(5, true, 1.5, 7.25, 4, "panic"), AT, Map.of("a", 4, "b", 1));
        ScaleMessages.ScaleCommand command = ScaleMessages.parseDecision(json);
        assertEquals(new ScaleMessages.ScaleCommand("hello", 5, true, AT, Map.of("a", 4, "b", 1)), command);
        assertEquals(java.util.OptionalInt.of(4), command.targetFor("a"));
        assertEquals(java.util.OptionalInt.empty(), command.targetFor("c"), "an invoker the decision does not name leaves the function alone");
        assertTrue(json.contains("\"stableConcurrency\":1.5") && json.contains("\"reason\":\"panic\""), json);
    }

    @Test
    void aBacklogReadsBackAndASampleIsStillASample() throws Exception {
        var b = new dev.skiff.autoscaler.Backlog("node-7/orders", "hello", AT, 250, 100, 8);
        assertEquals(b, ScaleMessages.parseMetric(ScaleMessages.backlog(b)));
        String sample = ScaleMessages.sample(new ConcurrencySample("host-1", "hello", AT, 3, 2, 1, 12));
        assertEquals(new LoadSample("host-1", "hello", AT, 3, 2, 1, 12), ScaleMessages.parseMetric(sample));
        var e = org.junit.jupiter.api.Assertions.assertThrows(ScaleMessages.MalformedMessage.class, () -> ScaleMessages.parseMetric(
                "{\"kind\":\"backlog\",\"source\":\"s\",\"function\":\"f\",\"at\":\"" + AT + "\",\"lag\":5,\"lagThreshold\":0,\"maxInFlight\":1}"));
        assertTrue(e.getMessage().contains("lagThreshold"), e.getMessage());
    }

    @Test
    void aDecisionWithoutTargetsIsForWhoeverRunsTheFunction() throws Exception {
        var command = ScaleMessages.parseDecision("{\"function\":\"f\",\"desired\":4,\"at\":\"" + AT + "\"}");
        assertEquals(java.util.OptionalInt.of(4), command.targetFor("any"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "nope", "[1]", "42", "null", "{}", "{\"function\":\"f\"}",
        "{\"function\":\"f\",\"desired\":-1,\"at\":\"2026-11-22T23:00:00Z\"}",
        "{\"function\":\"f\",\"desired\":1.5,\"at\":\"2026-11-22T23:00:00Z\"}",
        "{\"function\":\"f\",\"desired\":\"3\",\"at\":\"2026-11-22T23:00:00Z\"}",
        "{\"function\":\"f\",\"desired\":3,\"at\":\"yesterday\"}",
        "{\"function\":7,\"desired\":3,\"at\":\"2026-11-22T23:00:00Z\"}"})
    void junkIsAMalformedMessageNeverAnotherException(String payload) {
        assertThrows(ScaleMessages.MalformedMessage.class, () -> ScaleMessages.parseDecision(payload));
        assertThrows(ScaleMessages.MalformedMessage.class, () -> ScaleMessages.parseSample(payload));
    }

    @Test
    void nullIsMalformedToo() {
        assertThrows(ScaleMessages.MalformedMessage.class, () -> ScaleMessages.parseDecision(null));
        assertThrows(ScaleMessages.MalformedMessage.class, () -> ScaleMessages.parseSample(null));
    }
}
