package dev.skiff.server.scale;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ReplicaSpreadTest {
    @Test
    void replicasStayWhereTheyAreWhenTheTotalIsRight() {
        assertEquals(Map.of("a", 2, "b", 1), ReplicaSpread.targets(3, Map.of("a", 2, "b", 1), Map.of()));
    }

    @Test
    void aScaleUpGathersOnTheInvokerThatRunsTheMost() {
        assertEquals(Map.of("a", 4, "b", 1), ReplicaSpread.targets(5, Map.of("a", 2, "b", 1), Map.of()));
        assertEquals(Map.of("a", 2, "b", 0), ReplicaSpread.targets(2, Map.of("a", 0, "b", 0), Map.of()), "a tie goes to the first id");
    }

    @Test
    void aScaleDownTakesFromTheInvokerThatRunsTheFewest() {
        assertEquals(Map.of("a", 2, "b", 0), ReplicaSpread.targets(2, Map.of("a", 2, "b", 1), Map.of()));
        assertEquals(Map.of("a", 1, "b", 0, "c", 0), ReplicaSpread.targets(1, Map.of("a", 2, "b", 1, "c", 1), Map.of()));
        assertEquals(Map.of("a", 0, "b", 0), ReplicaSpread.targets(0, Map.of("a", 2, "b", 1), Map.of()));
    }

    @Test
    void theEvenShareThatChurnedIsGone() {
        // Before: desired 2 over 2 invokers gave each 1, so the invoker holding 2 stopped one and
        // the gateway's next cold start brought it back.
        assertEquals(Map.of("a", 2, "b", 0), ReplicaSpread.targets(2, Map.of("a", 2, "b", 0), Map.of()));
    }

    @Test
    void aScaleUpAddsOnlyWhereThereIsRoomAndOtherwiseStaysShort() {
        assertEquals(Map.of("a", 3, "b", 2), ReplicaSpread.targets(5, Map.of("a", 2, "b", 1), Map.of("a", 1, "b", 4)));
        assertEquals(Map.of("a", 2, "b", 1), ReplicaSpread.targets(5, Map.of("a", 2, "b", 1), Map.of("a", 0, "b", 0)),
                "no room anywhere: the calls start what they need where the gateways find room");
    }

    @Test
    void nobodyReportedMeansNoTargets() {
        assertEquals(Map.of(), ReplicaSpread.targets(3, Map.of(), Map.of()));
    }
}
