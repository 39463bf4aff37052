package dev.skiff.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlacementTest {
    private static final long MIB_128 = 128L << 20;

    private static Announcement invokerWithRoom(String id, long memoryFree, Announcement.Load... loads) {
        return new Announcement(id, "http://" + id, Instant.EPOCH, false, List.of(loads), memoryFree);
    }
    private static Announcement invoker(String id, Announcement.Load... loads) {
        return new Announcement(id, "http://" + id, Instant.EPOCH, false, List.of(loads));
    }

    private static Announcement.Load load(String fn, int replicas, int inFlight, int slots) {
        return new Announcement.Load(fn, 1, replicas, 0, inFlight, 0, slots);
    }

    private static List<String> order(String fn, Map<String, Integer> sent, Announcement... invokers) {
        return Placement.order(fn, MIB_128, 10, List.of(invokers), sent).stream().map(Announcement::invoker).toList();
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
    void maxScaleCountsAcrossTheClusterAnInvokerMayStartOnlyWhatTheOthersLeave() {
        var a = invoker("a", load("f", 3, 3, 1), load("g", 2, 0, 1));
        var b = invoker("b", new Announcement.Load("f", 1, 0, 1, 0, 0, 1)); // one starting
        var empty = invoker("empty");
        List<Announcement> all = List.of(a, b, empty);
        assertEquals(3, Placement.replicaLimit("f", 4, all, a), "a runs 3; b's starting one leaves a no more than it has");
        assertEquals(1, Placement.replicaLimit("f", 4, all, b));
        assertEquals(0, Placement.replicaLimit("f", 4, all, empty), "4 run elsewhere: a call there could only wait");
        assertEquals(10, Placement.replicaLimit("h", 10, all, empty), "a function nobody runs may use all of its maxScale");
        // At maxScale the calls wait where replicas are, even on an invoker with no room left;
        // the empty invoker (room, but a limit of 0) is the last resort.
        var fullA = invokerWithRoom("a", 0, load("f", 3, 3, 1));
        assertEquals(List.of("a", "b", "empty"), Placement.order("f", MIB_128, 4, List.of(empty, fullA, b), Map.of())
                .stream().map(Announcement::invoker).toList());
        assertEquals(List.of("empty", "a"), Placement.order("f", MIB_128, 10, List.of(empty, fullA), Map.of())
                .stream().map(Announcement::invoker).toList(), "below maxScale a new replica goes where there is room");
    }

    @Test
    void aFullInvokerPassesColdStartsOnTheFunctionSpreadsWhenItsFirstInvokerIsFull() {
        var fullHolder = invokerWithRoom("full-holder", 64L << 20, load("f", 2, 2, 1)); // 64 MiB left < 128
        var roomy = invokerWithRoom("roomy", 4L << 30);
        var roomier = invokerWithRoom("roomier", 8L << 30);
        var fullEmpty = invokerWithRoom("full-empty", 0);
        assertEquals(List.of("roomier", "roomy", "full-holder", "full-empty"), order("f", Map.of(), fullEmpty, fullHolder, roomy, roomier));
        var roomyHolder = invokerWithRoom("roomy-holder", 1L << 30, load("f", 1, 1, 1));
        assertEquals(List.of("roomy-holder", "roomier", "roomy", "full-holder", "full-empty"),
                order("f", Map.of(), fullEmpty, fullHolder, roomy, roomier, roomyHolder), "a holder with room first: gather");
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
                List.of(new Announcement.Load("f", 3, 2, 1, 1, 0, 4)), 3L << 30);
        Announcement back = Announcement.parse(a.toJson());
        assertEquals(a, back);
        assertEquals(7, back.load("f").freeSlots());
        var e = assertThrows(IllegalArgumentException.class, () -> Announcement.parse("{\"invoker\":\"x\"}"));
        assertTrue(e.getMessage().contains("url"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Announcement.parse("not json"));
    }
}
