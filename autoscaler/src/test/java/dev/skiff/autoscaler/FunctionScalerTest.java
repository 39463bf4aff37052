package dev.skiff.autoscaler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Knative's scenarios, with target concurrency 5 at 70% utilization (3.5 calls per replica) unless said otherwise. */
class FunctionScalerTest {
    private static final ScalingConfig TARGET_5 = ScalingConfig.defaults(5, 0, 100);

    private static ScalingConfig target5(Map<String, Object> scale, int minScale, int maxScale) {
        return ScalingConfig.fromMap(scale, 5, minScale, maxScale);
    }

    private static List<Integer> desired(List<Decision> decisions) {
        return decisions.stream().map(Decision::desiredReplicas).toList();
    }

    @Test
    void steadyLoadHoldsReplicasSteady() {
        Scenario s = new Scenario(TARGET_5, 3).load("a", 10);
        for (Decision d : s.run(180)) {
            assertEquals(3, d.desiredReplicas(), d.reason()); // ceil(10 / 3.5)
            assertFalse(d.panicking(), d.reason());
            assertEquals(10.0, d.stableConcurrency());
        }
    }

    @Test
    void aStepFrom1To50ClientsAsksForAtLeast10ReplicasOneSecondAfterTheStep() {
        Scenario s = new Scenario(TARGET_5, 1).load("a", 1);
        assertEquals(List.of(1), desired(s.run(60)).stream().distinct().toList());
        s.load("a", 50); // right after the decision at 59.6; the next sample (60.5) is the first to show it
        Decision first = s.step(); // at 60.6, one second after the step
        assertTrue(first.panicking(), first.reason());
        assertEquals(11, first.desiredReplicas(), first.reason()); // panic average 37.8 -> ceil(10.8)
        assertTrue(first.reason().startsWith("panic: 6s demand 37.8"), first.reason());
        assertEquals(List.of(14, 15, 15, 15), desired(s.run(4)));
    }

    @Test
    void aStepTheCallsAlreadyCoveredIsFollowedAtOnceNotHalved() {
        // In Skiff the calls of a step start replicas themselves (here 10 by the first decision),
        // so panic (2x that capacity) never fires. The decision still follows the recent demand
        // at once, and never asks to halve what the calls started while the stable mean lags.
        Scenario s = new Scenario(TARGET_5, 1).load("a", 1);
        s.run(60);
        s.replicasFollow = false;
        s.replicas = 10;
        s.load("a", 50);
        Decision first = s.step(); // 60.6
        assertFalse(first.panicking(), first.reason());
        assertEquals(11, first.desiredReplicas(), first.reason()); // recent demand 37.8 -> ceil(10.8)
        assertTrue(first.reason().startsWith("recent: 6s demand 37.8 wants 11"), first.reason());
        for (Decision d : s.run(10)) assertTrue(d.desiredReplicas() >= 11, d.reason());
    }

    @Test
    void aStepDownWhilePanickingKeepsTheReplicasThenDescendsNoFasterThanTheRateLimit() {
        Scenario s = new Scenario(TARGET_5, 1).load("a", 1);
        s.run(60);
        s.load("a", 50);
        s.run(10); // 60.6 .. 69.6, the panic began at 60.6
        s.load("a", 5);
        List<Decision> panic = s.run(50); // 70.6 .. 119.6
        for (Decision d : panic) {
            assertTrue(d.panicking(), d.reason());
            assertEquals(15, d.desiredReplicas(), d.reason());
        }
        // 120.6: a stable window after the last panic trigger. The stable window (61..120) holds
        // 9 s of 50 and 51 s of 5: 11.75 wants 4, but one decision at most halves 15.
        Decision calm = s.step();
        assertFalse(calm.panicking(), calm.reason());
        assertEquals(7, calm.desiredReplicas());
        assertEquals("stable: 60s demand 11.8 wants 4; scale-down limited to 7", calm.reason());
        assertEquals(List.of(4, 3, 3, 3, 3, 3, 2, 2), desired(s.run(8))); // 121.6 .. 128.6: 8, 7 .. 1 seconds of 50 left in the window
    }

    @Test
    void panicEndsAStableWindowAfterTheLastDecisionThatMetItsCondition() {
        Scenario s = new Scenario(TARGET_5, 1).load("a", 1);
        s.run(60);
        s.load("a", 50);
        s.run(60); // 60.6 .. 119.6; only 60.6 met the condition (later, 15 replicas carry 50 well below 200%)
        assertTrue(s.decisions().get(119).panicking());
        Decision ended = s.step(); // 120.6
        assertFalse(ended.panicking(), ended.reason());
        assertEquals(15, ended.desiredReplicas(), "the stable window now sees 50 throughout");
    }

    @Test
    void aNewBurstDuringPanicExtendsIt() {
        Scenario s = new Scenario(TARGET_5, 1).load("a", 1);
        s.run(60);
        s.load("a", 50);
        s.run(30); // 60.6 .. 89.6, 15 replicas
        s.load("a", 200);
        Decision burst = s.step(); // 90.6: 162.5 needs 46.4 replicas, over 2 x 15
        assertTrue(burst.reason().startsWith("panic: "), burst.reason());
        assertEquals(47, burst.desiredReplicas());
        s.run(59); // 91.6 .. 149.6
        assertTrue(s.decisions().get(149).panicking());
        assertFalse(s.step().panicking(), "150.6 is a stable window after 90.6");
    }

    @Test
    void scaleUpRateLimitsOneDecision() {
        Scenario s = new Scenario(target5(Map.of("maxScaleUpRate", 2), 0, 100), 1).load("a", 1);
        s.run(60);
        s.load("a", 50);
        Decision d = s.step();
        assertEquals(2, d.desiredReplicas(), "ceil(2 x 1)");
        assertTrue(d.reason().endsWith("; scale-up limited to 2"), d.reason());
        assertEquals(4, s.step().desiredReplicas());
    }

    @Test
    void scaleDownDelayKeepsTheHighestDesiredCountOfTheDelay() {
        // A 1 s stable window and no scale-down rate, so the count falls from 6 to 1 at once without a delay.
        Map<String, Object> fast = Map.of("stableWindow", "1s", "panicWindow", "1s", "sampleMaxAge", "1s", "maxScaleDownRate", 1000);
        Scenario plain = new Scenario(target5(fast, 0, 100), 6).load("a", 20);
        Map<String, Object> delayed = new HashMap<>(fast);
        delayed.put("scaleDownDelay", "30s");
        Scenario held = new Scenario(target5(delayed, 0, 100), 6).load("a", 20);
        assertEquals(6, plain.run(10).get(9).desiredReplicas());
        assertEquals(6, held.run(10).get(9).desiredReplicas()); // the last 6 is decided at 9.6
        plain.load("a", 3);
        held.load("a", 3);
        assertEquals(1, plain.step().desiredReplicas());
        List<Decision> during = held.run(29); // 10.6 .. 38.6: less than 30 s after 9.6
        for (Decision d : during) {
            assertEquals(6, d.desiredReplicas(), d.reason());
            assertTrue(d.reason().endsWith("; scale-down delay keeps 6"), d.reason());
        }
        assertEquals(1, held.step().desiredReplicas(), "39.6 is 30 s after the last 6");
        held.load("a", 20);
        assertEquals(6, held.step().desiredReplicas(), "a scale-up is not delayed");
    }

    @Test
    void withoutTrafficTheReplicasGoToZeroOnlyAStableWindowPlusTheGraceAfterTheLastCall() {
        Scenario s = new Scenario(TARGET_5, 3).load("a", 10);
        s.run(40); // the last sample with traffic is at 39.5
        s.load("a", 0); // the invoker keeps reporting, idle
        List<Decision> idle = s.run(89); // 40.6 .. 128.6
        Decision lastButOne = idle.get(idle.size() - 1);
        assertEquals(1, lastButOne.desiredReplicas(), lastButOne.reason());
        assertTrue(lastButOne.reason().endsWith("; keeps 1 until zero in 0.9s"), lastButOne.reason());
        assertEquals(1, idle.get(60).desiredReplicas(), "100.6: the stable window is empty, the grace has not passed");
        Decision zero = s.step(); // 129.6 >= 39.5 + 60 + 30
        assertEquals(0, zero.desiredReplicas(), zero.reason());
        assertEquals("no traffic for 90.1s: zero", zero.reason());
        assertEquals(List.of(0), desired(s.run(30)).stream().distinct().toList());
    }

    @Test
    void aSilentFunctionGoesToZeroTooWhenItsInvokerStopsReporting() {
        Scenario s = new Scenario(TARGET_5, 2).load("a", 5);
        s.run(10); // last sample at 9.5
        s.silence("a");
        List<Decision> after = s.run(91); // 10.6 .. 100.6
        assertEquals(1, after.get(88).desiredReplicas(), "98.6 < 9.5 + 90");
        assertEquals(0, after.get(89).desiredReplicas(), "99.6 >= 9.5 + 90");
    }

    @Test
    void trafficAtZeroReplicasAsksForReplicasAtOnce() {
        Scenario s = new Scenario(TARGET_5, 0);
        assertEquals(List.of(0), desired(s.run(100)).stream().distinct().toList(), "nothing runs without traffic");
        s.load("a", 1);
        Decision one = s.step();
        assertTrue(one.panicking(), "any demand at zero replicas is a panic");
        assertEquals(1, one.desiredReplicas(), one.reason());

        Scenario burst = new Scenario(TARGET_5, 0);
        burst.run(100);
        burst.load("a", 20);
        assertEquals(6, burst.step().desiredReplicas(), "ceil(20 / 3.5)");
    }

    @Test
    void minScaleKeepsReplicasWithoutTrafficAndMaxScaleCapsABurst() {
        Scenario s = new Scenario(target5(Map.of(), 2, 4), 2);
        for (Decision d : s.run(200)) assertEquals(2, d.desiredReplicas(), d.reason());
        s.load("a", 50);
        Decision capped = s.step();
        assertEquals(4, capped.desiredReplicas());
        assertTrue(capped.reason().endsWith("; maxScale 4"), capped.reason());
        assertEquals(List.of(4), desired(s.run(100)).stream().distinct().toList());
    }

    @Test
    void anInvokerThatStopsSendingSamplesStopsCountingAfterSampleMaxAge() {
        Scenario s = new Scenario(TARGET_5, 6).load("a", 10).load("b", 10);
        s.run(60); // b's last sample is at 59.5
        s.silence("b");
        List<Long> seen = s.run(3).stream().map(Decision::currentConcurrency).toList();
        assertEquals(List.of(20L, 20L, 10L), seen, "at 62.6 b's sample is 3.1 s old");
    }

    @Test
    void theConcurrencyOfTwoInvokersAddsUp() {
        Scenario s = new Scenario(TARGET_5, 1).load("a", 10).load("b", 25);
        s.run(120);
        Decision d = s.decisions().get(119);
        assertEquals(35, d.currentConcurrency());
        assertEquals(35.0, d.stableConcurrency());
        assertEquals(10, d.desiredReplicas(), "35 / 3.5, exactly");
    }

    @Test
    void theSameInputsGiveTheSameDecisions() {
        List<Decision> first = burstyDay();
        assertEquals(first, burstyDay());
    }

    private static List<Decision> burstyDay() {
        Scenario s = new Scenario(target5(Map.of("scaleDownDelay", "10s"), 0, 30), 0);
        int[] clients = {0, 3, 40, 7, 0, 120, 2, 0};
        for (int c : clients) {
            s.load("a", c).load("b", c / 2);
            s.run(45);
        }
        return s.decisions();
    }

    @Test
    void malformedSamplesAndSamplesOfAnotherFunctionAreRefused() {
        FunctionScaler scaler = new FunctionScaler("f", TARGET_5);
        Instant t = Scenario.at(0);
        assertThrows(IllegalArgumentException.class, () -> scaler.observe(new LoadSample("a", "f", t, -1, 0, 1, 0)));
        assertThrows(IllegalArgumentException.class, () -> scaler.observe(new LoadSample("a", "f", null, 1, 0, 1, 0)));
        var e = assertThrows(IllegalArgumentException.class, () -> scaler.observe(new LoadSample("a", "g", t, 1, 0, 1, 0)));
        assertEquals("sample for g given to the scaler of f", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> scaler.decide(t, -1));
        assertEquals(0, scaler.decide(t, 0).desiredReplicas());
    }

    @Test
    void reconfiguringKeepsTheSamples() {
        Scenario s = new Scenario(TARGET_5, 3).load("a", 10);
        s.run(60);
        s.scaler.reconfigure(ScalingConfig.defaults(10, 0, 100));
        s.silence("a");
        Decision d = s.scaler.decide(s.nextDecisionAt(), 3);
        assertEquals(10.0, d.stableConcurrency());
        assertEquals(2, d.desiredReplicas(), "ceil(10 / 7)");
    }
}
