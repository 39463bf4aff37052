package dev.skiff.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlacementTest {
    private static Announcement invoker(String id, Announcement.Load... loads) {
        return new Announcement(id, "http://" + id, Instant.EPOCH, false, List.of(loads));
    }

    private static Announcement.Load load(String fn, int replicas, int inFlight, int slots) {
        return new Announcement.Load(fn, 1, replicas, 0, inFlight, 0, slots);
    }

    private static List<String> order(String fn, Map<String, Integer> sent, Announcement... invokers) {
        return Placement.order(fn, 4, List.of(invokers), sent).stream().map(Announcement::invoker).toList();
    }

    @Test
    void aFreeWarmSlotWinsAndTheLeastLoadedFirst() {
        var a = invoker("a", load("f", 1, 1, 1)); // its one slot busy
        var b = invoker("b", load("f", 2, 1, 2)); // 3 free
        var c = invoker("c", load("f", 1, 0, 2)); // 2 free
        assertEquals(List.of("b", "c", "a"), order("f", Map.of(), a, b, c));
    }

    @Test
    void coldStartsGatherWhereTheFunctionAlreadyRunsThenGoToTheEmptiest() {
        var busyHolder = invoker("holder", load("f", 2, 2, 1));
        var crowded = invoker("crowded", load("g", 5, 0, 1));
        var empty = invoker("empty");
        assertEquals(List.of("holder", "empty", "crowded"), order("f", Map.of(), crowded, empty, busyHolder));
    }

    @Test
    void aHolderAtMaxScaleComesLastItsQueueIsTheOnlyThingLeftThere() {
        var full = invoker("full", load("f", 4, 4, 1)); // 4 replicas = maxScale, all busy
        var holder = invoker("holder", load("f", 1, 1, 1));
        var empty = invoker("empty");
        assertEquals(List.of("holder", "empty", "full"), order("f", Map.of(), full, empty, holder));
    }

    @Test
    void callsThisGatewaySentSinceTheAnnouncementCountAsBusy() {
        var a = invoker("a", load("f", 1, 0, 2)); // announced 2 free
        var b = invoker("b", load("f", 1, 0, 1)); // announced 1 free
        assertEquals(List.of("a", "b"), order("f", Map.of(), a, b));
        assertEquals(List.of("b", "a"), order("f", Map.of("a", 2), a, b), "both of a's slots are taken by calls sent since");
    }

    @Test
    void announcementsRoundTripAndJunkIsRefusedWithAReason() {
        var a = new Announcement("host-1", "http://10.0.0.7:8080", Instant.parse("2026-11-23T00:00:00Z"), false,
                List.of(new Announcement.Load("f", 3, 2, 1, 1, 0, 4)));
        Announcement back = Announcement.parse(a.toJson());
        assertEquals(a, back);
        assertEquals(7, back.load("f").freeSlots());
        var e = assertThrows(IllegalArgumentException.class, () -> Announcement.parse("{\"invoker\":\"x\"}"));
        assertTrue(e.getMessage().contains("url"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Announcement.parse("not json"));
    }
}
