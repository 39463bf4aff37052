package dev.skiff.autoscaler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class BacklogTest {
    private static Backlog backlog(long lag, int threshold, int inFlight) {
        return new Backlog("node/orders", "f", Instant.EPOCH, lag, threshold, inFlight);
    }

    @Test
    void aFullTopicAsksForAReplicaPerThresholdOfRecordsUpToWhatItsCallsCanFill() {
        assertEquals(0, Backlog.replicasFor(List.of(backlog(0, 100, 16)), 1, 10), "nothing waits: no floor");
        assertEquals(1, Backlog.replicasFor(List.of(backlog(1, 100, 16)), 1, 10));
        assertEquals(3, Backlog.replicasFor(List.of(backlog(250, 100, 16)), 1, 10));
        assertEquals(4, Backlog.replicasFor(List.of(backlog(100_000, 100, 16)), 4, 10), "16 calls in flight fill 4 replicas of concurrency 4");
        assertEquals(10, Backlog.replicasFor(List.of(backlog(100_000, 100, 64)), 1, 10), "never beyond maxScale");
    }

    @Test
    void triggersAddUp() {
        assertEquals(5, Backlog.replicasFor(List.of(backlog(300, 100, 16), backlog(200, 100, 16)), 1, 10));
    }

    @Test
    void theFloorRaisesADecisionAndSaysWhyButNeverLowersOne() {
        Decision low = new Decision(1, false, 0, 0, 0, "stable");
        Decision raised = Backlog.atLeast(low, 3, 250);
        assertEquals(3, raised.desiredReplicas());
        assertTrue(raised.reason().contains("250 records waiting"), raised.reason());
        Decision high = new Decision(5, false, 0, 0, 0, "busy");
        assertSame(high, Backlog.atLeast(high, 3, 250));
    }

    @Test
    void nonsenseIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> backlog(-1, 100, 1));
        assertThrows(IllegalArgumentException.class, () -> backlog(1, 0, 1));
    }
}
