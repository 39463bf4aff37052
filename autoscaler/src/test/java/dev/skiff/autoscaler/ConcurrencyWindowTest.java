package dev.skiff.autoscaler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class ConcurrencyWindowTest {
    private static final ScalingConfig CONFIG = ScalingConfig.defaults(5, 0, 100);
    private final ConcurrencyWindow window = new ConcurrencyWindow();

    /** An instant {@code seconds} after a fixed origin, to the millisecond. */
    static Instant at(double seconds) {
        return Instant.ofEpochMilli(1_700_000_000_000L + Math.round(seconds * 1000));
    }

    static LoadSample sample(String invoker, double seconds, int inFlight, int queued) {
        return new LoadSample(invoker, "f", at(seconds), inFlight, queued, 1, inFlight);
    }

    @Test
    void inFlightAndQueuedBothCount() {
        window.record(sample("a", 100.5, 3, 4));
        assertEquals(7, window.averages(at(100.6), CONFIG).latest());
    }

    @Test
    void aSampleCarriesOverASecondTheInvokerMissed() {
        window.record(sample("a", 100.5, 10, 0));
        window.record(sample("a", 102.5, 10, 0));
        var a = window.averages(at(102.6), CONFIG);
        assertEquals(10.0, a.stable(), "second 101 has no sample of its own but still shows 10");
    }

    @Test
    void theLatestSampleOfASecondWinsWhateverOrderTheyArrive() {
        window.record(sample("a", 100.2, 5, 0));
        window.record(sample("a", 100.7, 9, 0));
        window.record(sample("a", 100.4, 1, 0));
        assertEquals(9, window.averages(at(100.9), CONFIG).latest());
    }

    @Test
    void samplesTakenAfterNowDoNotCountYet() {
        window.record(sample("a", 100.5, 4, 0));
        window.record(sample("a", 101.5, 40, 0));
        assertEquals(4, window.averages(at(100.9), CONFIG).latest());
        assertEquals(4, window.averages(at(101.4), CONFIG).latest());
        assertEquals(40, window.averages(at(101.5), CONFIG).latest());
    }

    @Test
    void aSilentInvokerStopsCountingOnceItsLatestSampleIsOlderThanSampleMaxAge() {
        window.record(sample("gone", 100.0, 10, 0));
        for (int s = 100; s <= 104; s++) window.record(sample("alive", s, 5, 0));
        assertEquals(15, window.averages(at(103.0), CONFIG).latest(), "exactly 3 s old still counts");
        assertEquals(2, window.averages(at(103.0), CONFIG).replicas());
        assertEquals(5, window.averages(at(103.001), CONFIG).latest());
        assertEquals(1, window.averages(at(103.001), CONFIG).replicas());
    }

    @Test
    void theFirstSecondsOfDataAreNotDilutedByAnEmptyWindow() {
        window.record(sample("a", 100.5, 20, 0));
        var a = window.averages(at(100.6), CONFIG);
        assertEquals(20.0, a.stable());
        assertEquals(20.0, a.panic());
    }

    @Test
    void theStableAverageIsTheMeanOfTheLastSixtySeconds() {
        for (int s = 0; s < 60; s++) window.record(sample("a", 100.5 + s, s < 30 ? 10 : 40, 0));
        var a = window.averages(at(159.6), CONFIG);
        assertEquals(25.0, a.stable());
        window.record(sample("a", 160.5, 40, 0));
        assertEquals(25.5, window.averages(at(160.6), CONFIG).stable(), "the oldest 10 left, a 40 came");
    }

    @Test
    void theNewestSecondCarriesThreeQuartersOfThePanicAverage() {
        for (int s = 0; s < 60; s++) window.record(sample("a", 100.5 + s, 1, 0));
        window.record(sample("a", 160.5, 50, 0));
        double newest = 1 / (1 + 0.25 + 0.0625 + 0.015625 + 0.00390625 + 0.0009765625);
        var a = window.averages(at(160.6), CONFIG);
        assertEquals(50 * newest + (1 - newest), a.panic(), 1e-9);
        assertEquals(37.76, a.panic(), 0.01);
        assertEquals((59 * 1 + 50) / 60.0, a.stable(), 1e-9);
    }

    @Test
    void afterAWindowOfSilenceEverythingIsForgottenAndTheNextSampleStartsAfresh() {
        window.record(sample("a", 100.5, 30, 0));
        window.prune(at(160.0), CONFIG);
        assertFalse(window.isEmpty(), "still inside window + sampleMaxAge");
        window.prune(at(163.6), CONFIG);
        assertTrue(window.isEmpty());
        window.record(sample("a", 200.5, 7, 0));
        assertEquals(7.0, window.averages(at(200.6), CONFIG).stable());
    }

    @Test
    void pruningNeverChangesAnAverage() {
        ConcurrencyWindow unpruned = new ConcurrencyWindow();
        for (LoadSample s : new LoadSample[] {sample("a", 100.5, 30, 0), sample("b", 102.9, 6, 0)}) {
            window.record(s);
            unpruned.record(s);
        }
        // window 102..161: a (2.5 s old at the end of 102) still counts in 102, b in 102..104
        window.prune(at(161.6), CONFIG);
        assertEquals((30 + 3 * 6) / 60.0, window.averages(at(161.6), CONFIG).stable(), 1e-9);
        window.prune(at(162.6), CONFIG);
        assertEquals(2 * 6 / 60.0, window.averages(at(162.6), CONFIG).stable(), 1e-9);
        assertEquals(unpruned.averages(at(162.6), CONFIG), window.averages(at(162.6), CONFIG));
    }
}
