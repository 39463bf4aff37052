package dev.skiff.autoscaler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class DesiredReplicasTest {
    @Test
    void roundsUpAgainstTheUtilizedTarget() {
        // 10 concurrent calls, 1 per replica at 70% utilization -> ceil(10 / 0.7) = 15
        assertEquals(15, DesiredReplicas.compute(10, 1, 0.7, 0, 100));
        assertEquals(1, DesiredReplicas.compute(0.1, 5, 1.0, 0, 100));
    }

    @Test
    void noTrafficScalesToMinScale() {
        assertEquals(0, DesiredReplicas.compute(0, 1, 0.7, 0, 10));
        assertEquals(2, DesiredReplicas.compute(0, 1, 0.7, 2, 10));
    }

    @Test
    void clampedToMaxScale() {
        assertEquals(10, DesiredReplicas.compute(500, 1, 0.7, 0, 10));
    }

    @Test
    void rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> DesiredReplicas.compute(1, 0, 0.7, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> DesiredReplicas.compute(1, 1, 0.7, 5, 2));
    }
}
