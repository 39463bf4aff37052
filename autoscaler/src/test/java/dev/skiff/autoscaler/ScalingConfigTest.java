package dev.skiff.autoscaler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScalingConfigTest {

    @Test
    void anEmptyScaleSectionGivesKnativesDefaultsWithTheFunctionsConcurrencyAsTarget() {
        ScalingConfig c = ScalingConfig.fromMap(Map.of(), 5, 1, 20);
        assertEquals(new ScalingConfig(5, 0.7, Duration.ofSeconds(60), Duration.ofSeconds(6), 2.0, 1000.0, 2.0,
                Duration.ofSeconds(30), Duration.ZERO, 1, 20, Duration.ofSeconds(3)), c);
        assertEquals(c, ScalingConfig.fromMap(null, 5, 1, 20));
        assertEquals(c, ScalingConfig.defaults(5, 1, 20));
    }

    @Test
    void everyKeyOfTheScaleSectionIsRead() {
        Map<String, Object> yaml = new LinkedHashMap<>();
        yaml.put("target", 8);
        yaml.put("utilization", "0.5");
        yaml.put("stableWindow", "2m");
        yaml.put("panicWindow", 10);
        yaml.put("panicThreshold", 3.5);
        yaml.put("maxScaleUpRate", "4");
        yaml.put("maxScaleDownRate", 1.5);
        yaml.put("scaleToZeroGrace", "0s");
        yaml.put("scaleDownDelay", "1500ms");
        yaml.put("sampleMaxAge", "5s");
        ScalingConfig c = ScalingConfig.fromMap(yaml, 1, 0, 10);
        assertEquals(new ScalingConfig(8, 0.5, Duration.ofMinutes(2), Duration.ofSeconds(10), 3.5, 4, 1.5,
                Duration.ZERO, Duration.ofMillis(1500), 0, 10, Duration.ofSeconds(5)), c);
        assertEquals(4.0, c.usablePerReplica());
        assertEquals(120, c.stableWindowSeconds());
        assertEquals(10, c.panicWindowSeconds());
    }

    @Test
    void anUnknownKeyIsRefusedByName() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> ScalingConfig.fromMap(Map.of("target", 2, "stableWindw", "30s"), 1, 0, 10));
        assertTrue(e.getMessage().contains("'stableWindw'"), e.getMessage());
        assertTrue(e.getMessage().contains("stableWindow"), "lists the known keys: " + e.getMessage());
    }

    @Test
    void badValuesAreRefusedNamingTheKey() {
        assertProblem(Map.of("target", "lots"), "scale.target must be a number");
        assertProblem(Map.of("target", 0), "scale.target");
        assertProblem(Map.of("utilization", 70), "scale.utilization");
        assertProblem(Map.of("stableWindow", "1 minute"), "scale.stableWindow must be a duration");
        assertProblem(Map.of("stableWindow", "1500ms"), "stableWindow must be a whole number of seconds");
        assertProblem(Map.of("stableWindow", "2h"), "stableWindow must be from 1s to 3600s");
        assertProblem(Map.of("panicWindow", "0s"), "panicWindow must be from 1s to 60s");
        assertProblem(Map.of("panicWindow", "90s"), "panicWindow must be from 1s to 60s, got 90s");
        assertProblem(Map.of("panicThreshold", 0.5), "panicThreshold must be a number of at least 1");
        assertProblem(Map.of("maxScaleUpRate", 1), "maxScaleUpRate must be a number above 1");
        assertProblem(Map.of("maxScaleDownRate", "NaN"), "maxScaleDownRate must be a number above 1");
        assertProblem(Map.of("scaleToZeroGrace", "-5s"), "scale.scaleToZeroGrace must be a duration");
        assertProblem(Map.of("scaleDownDelay", 1.5), "scale.scaleDownDelay must be a duration");
        assertProblem(Map.of("sampleMaxAge", "0ms"), "sampleMaxAge must be more than zero");
        assertProblem(Map.of("sampleMaxAge", "2m"), "sampleMaxAge (120s) must not exceed stableWindow (60s)");
    }

    @Test
    void scaleBoundsAreChecked() {
        var e = assertThrows(IllegalArgumentException.class, () -> ScalingConfig.fromMap(Map.of(), 1, 5, 2));
        assertEquals("minScale (5) must not exceed maxScale (2)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ScalingConfig.fromMap(Map.of(), 1, -1, 2));
        assertThrows(IllegalArgumentException.class, () -> ScalingConfig.fromMap(Map.of(), 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> ScalingConfig.fromMap(Map.of(), 0, 0, 10));
    }

    @Test
    void aMissingDurationIsAClearErrorNotANullPointer() {
        var e = assertThrows(IllegalArgumentException.class, () -> new ScalingConfig(1, 0.7, null, Duration.ofSeconds(6),
                2, 1000, 2, Duration.ZERO, Duration.ZERO, 0, 10, Duration.ofSeconds(3)));
        assertEquals("stableWindow is missing", e.getMessage());
    }

    @Test
    void aYamlNullMeansTheDefault() {
        Map<String, Object> yaml = new HashMap<>();
        yaml.put("utilization", null);
        assertEquals(0.7, ScalingConfig.fromMap(yaml, 1, 0, 10).targetUtilization());
    }

    private static void assertProblem(Map<String, Object> yaml, String expected) {
        var e = assertThrows(IllegalArgumentException.class, () -> ScalingConfig.fromMap(yaml, 1, 0, 10), expected);
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }
}
