package dev.skiff.server.trigger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ordering rules of triggers, as bookkeeping: which records may start when, and together. */
class LaneDispatcherTest {
    private final List<LaneDispatcher.Batch<String>> batches = new ArrayList<>();

    /** Every record started so far, in start order. */
    private List<String> started() {
        return batches.stream().flatMap(b -> b.items().stream()).toList();
    }

    private LaneDispatcher.Batch<String> startedWith(String item) {
        return batches.stream().filter(b -> b.items().contains(item)).findFirst().orElseThrow();
    }

    private LaneDispatcher<String> dispatcher(int concurrency, int batchSize) {
        return new LaneDispatcher<>(concurrency, batchSize, batches::add);
    }

    @Test
    void aLaneRunsOneRecordAtATimeInOrder() {
        LaneDispatcher<String> d = dispatcher(8, 1);
        d.submit("k", "k1");
        d.submit("k", "k2");
        d.submit("k", "k3");
        assertEquals(List.of("k1"), started());
        d.finished(startedWith("k1"));
        assertEquals(List.of("k1", "k2"), started());
        d.finished(startedWith("k2"));
        d.finished(startedWith("k3"));
        assertEquals(List.of("k1", "k2", "k3"), started());
        assertEquals(0, d.held());
    }

    @Test
    void differentLanesRunInParallelUpToTheConcurrency() {
        LaneDispatcher<String> d = dispatcher(2, 1);
        d.submit("a", "a1");
        d.submit("b", "b1");
        d.submit("c", "c1");
        d.submit("a", "a2");
        assertEquals(List.of("a1", "b1"), started());
        assertEquals(2, d.running());
        assertEquals(4, d.held());
        // a1 done: the oldest ready lane (c) goes first, a2 waits its turn behind it.
        d.finished(startedWith("a1"));
        assertEquals(List.of("a1", "b1", "c1"), started());
        d.finished(startedWith("b1"));
        assertEquals(List.of("a1", "b1", "c1", "a2"), started());
    }

    @Test
    void ownLanesAreNeverHeldBackByEachOther() {
        LaneDispatcher<String> d = dispatcher(3, 1);
        d.submit(LaneDispatcher.ownLane(), "x");
        d.submit(LaneDispatcher.ownLane(), "y");
        assertEquals(List.of("x", "y"), started());
    }

    @Test
    void aRetriedRecordKeepsItsLaneSoTheKeyStaysInOrder() {
        // "Running" lasts until finished(), retries included: k2 never overtakes k1.
        LaneDispatcher<String> d = dispatcher(4, 1);
        d.submit("k", "k1");
        d.submit("k", "k2");
        d.submit("other", "o1");
        assertEquals(List.of("k1", "o1"), started());
        d.finished(startedWith("o1"));
        assertEquals(List.of("k1", "o1"), started());
        d.finished(startedWith("k1"));
        assertEquals(List.of("k1", "o1", "k2"), started());
    }

    @Test
    void aBatchTakesWhatWaitsAcrossLanesInLaneOrderAndNeverWaitsToFill() {
        LaneDispatcher<String> d = dispatcher(1, 4);
        d.submit("a", "a1"); // a slot is free: a batch of one, at once
        assertEquals(List.of(List.of("a1")), batches.stream().map(LaneDispatcher.Batch::items).toList());
        d.submit("a", "a2");
        d.submit("b", "b1");
        d.submit("a", "a3");
        d.submit("c", "c1");
        d.submit("c", "c2");
        d.finished(startedWith("a1"));
        // b and c were ready first, a's turn comes after them; a lane's records in their order,
        // as many as fit: a3 waits for this batch.
        assertEquals(List.of("b1", "c1", "c2", "a2"), batches.get(1).items());
        assertEquals(List.of("b", "c", "a"), batches.get(1).lanes());
        assertEquals(6 - 1, d.held());
        d.finished(batches.get(1));
        assertEquals(List.of("a3"), batches.get(2).items());
        d.finished(batches.get(2));
        assertEquals(0, d.held());
        assertEquals(0, d.running());
    }

    @Test
    void aLaneNeverHasTwoBatchesRunning() {
        LaneDispatcher<String> d = dispatcher(4, 2);
        d.submit("k", "k1");
        d.submit("k", "k2");
        d.submit("k", "k3");
        // Slots are free, but k's later records wait for the batch that holds k1.
        assertEquals(List.of("k1"), started());
        d.finished(startedWith("k1"));
        assertEquals(List.of("k2", "k3"), batches.get(1).items());
        assertEquals(1, d.running());
    }

    @Test
    void finishingAnIdleLaneIsABug() {
        LaneDispatcher<String> d = dispatcher(1, 1);
        assertThrows(IllegalStateException.class, () -> d.finished(new LaneDispatcher.Batch<>(List.of("x"), List.of("nothing"))));
    }
}
