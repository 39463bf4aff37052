package dev.skiff.server.trigger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ordering rules of triggers, as bookkeeping: which record may start when. */
class LaneDispatcherTest {
    private final List<String> started = new ArrayList<>();

    @Test
    void aLaneRunsOneRecordAtATimeInOrder() {
        LaneDispatcher<String> d = new LaneDispatcher<>(8, started::add);
        d.submit("k", "k1");
        d.submit("k", "k2");
        d.submit("k", "k3");
        assertEquals(List.of("k1"), started);
        d.finished("k");
        assertEquals(List.of("k1", "k2"), started);
        d.finished("k");
        d.finished("k");
        assertEquals(List.of("k1", "k2", "k3"), started);
        assertEquals(0, d.held());
    }

    @Test
    void differentLanesRunInParallelUpToTheConcurrency() {
        LaneDispatcher<String> d = new LaneDispatcher<>(2, started::add);
        d.submit("a", "a1");
        d.submit("b", "b1");
        d.submit("c", "c1");
        d.submit("a", "a2");
        assertEquals(List.of("a1", "b1"), started);
        assertEquals(2, d.running());
        assertEquals(4, d.held());
        // a1 done: the oldest ready lane (c) goes first, a2 waits its turn behind it.
        d.finished("a");
        assertEquals(List.of("a1", "b1", "c1"), started);
        d.finished("b");
        assertEquals(List.of("a1", "b1", "c1", "a2"), started);
    }

    @Test
    void ownLanesAreNeverHeldBackByEachOther() {
        LaneDispatcher<String> d = new LaneDispatcher<>(3, started::add);
        Object x = LaneDispatcher.ownLane();
        Object y = LaneDispatcher.ownLane();
        d.submit(x, "x");
        d.submit(y, "y");
        assertEquals(List.of("x", "y"), started);
    }

    @Test
    void aRetriedRecordKeepsItsLaneSoTheKeyStaysInOrder() {
        // "Running" lasts until finished(), retries included: k2 never overtakes k1.
        LaneDispatcher<String> d = new LaneDispatcher<>(4, started::add);
        d.submit("k", "k1");
        d.submit("k", "k2");
        d.submit("other", "o1");
        assertEquals(List.of("k1", "o1"), started);
        d.finished("other");
        assertEquals(List.of("k1", "o1"), started);
        d.finished("k");
        assertEquals(List.of("k1", "o1", "k2"), started);
    }

    @Test
    void finishingAnIdleLaneIsABug() {
        LaneDispatcher<String> d = new LaneDispatcher<>(1, started::add);
        assertThrows(IllegalStateException.class, () -> d.finished("nothing"));
    }
}
