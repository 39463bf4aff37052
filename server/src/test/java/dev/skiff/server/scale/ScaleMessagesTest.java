package dev.skiff.server.scale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.autoscaler.Decision;
import dev.skiff.autoscaler.LoadSample;
import dev.skiff.invoker.ConcurrencySample;
import java.time.Instant;
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
    void aDecisionReadsBackAndIsSpreadOverTheInvokers() throws Exception {
        String json = ScaleMessages.decision("hello", new Decision(5, true, 1.5, 7.25, 4, "panic"), AT, 2);
        ScaleMessages.ScaleCommand command = ScaleMessages.parseDecision(json);
        assertEquals(new ScaleMessages.ScaleCommand("hello", 5, true, AT, 2), command);
        assertEquals(3, command.share(), "rounded up: never a replica short");
        assertTrue(json.contains("\"stableConcurrency\":1.5") && json.contains("\"reason\":\"panic\""), json);
    }

    @Test
    void aDecisionWithoutInvokersIsForOneInvoker() throws Exception {
        var command = ScaleMessages.parseDecision("{\"function\":\"f\",\"desired\":4,\"at\":\"" + AT + "\"}");
        assertEquals(4, command.share());
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
