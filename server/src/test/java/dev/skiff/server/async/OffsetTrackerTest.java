package dev.skiff.server.async;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The commit point never passes a record still running, whatever order the records finish in. */
class OffsetTrackerTest {
    @Test
    void theCommitStopsAtTheOldestPendingRecord() {
        OffsetTracker t = new OffsetTracker();
        assertEquals(-1, t.toCommit(), "nothing taken, nothing to commit");
        for (long o = 10; o <= 14; o++) t.started(o);
        assertEquals(10, t.toCommit(), "nothing done yet: the commit point is the first record");
        t.committed(10);
        assertEquals(-1, t.toCommit(), "already committed");
        t.finished(12);
        t.finished(13);
        assertEquals(-1, t.toCommit(), "10 still runs: 12 and 13 must not be committed past it");
        t.finished(10);
        assertEquals(11, t.toCommit(), "10 done, 11 still runs");
        t.committed(11);
        t.finished(11);
        assertEquals(14, t.toCommit(), "10..13 done, 14 runs");
        t.finished(14);
        assertEquals(15, t.toCommit(), "all done: the next record to read");
        assertEquals(0, t.pending());
        t.committed(15);
        assertEquals(-1, t.toCommit());
    }
}
