package dev.skiff.server.scale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.autoscaler.Decision;
import dev.skiff.autoscaler.LoadSample;
import dev.skiff.autoscaler.ScalingConfig;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The role's guards around the decision, with a made-up clock. Defaults: stableWindow 60 s, grace 30 s, sampleMaxAge 3 s. */
class DecisionGuardsTest {
    static final Instant T0 = Instant.parse("2026-11-22T23:00:00Z");
    static final ScalingConfig CONFIG = ScalingConfig.defaults(1, 0, 10);
    static final Decision ZERO = new Decision(0, false, 0, 0, 0, "idle");

    static Instant at(long seconds) {
        return T0.plusSeconds(seconds);
    }

    static LoadSample sample(String invoker, long second, int replicas) {
        return new LoadSample(invoker, "f", at(second), 0, 0, replicas, 0);
    }

    @Test
    void noDecisionWithoutAFreshSampleNotEvenLongAfterTheStart() {
        DecisionGuards guards = new DecisionGuards(T0);
        guards.deployed("f", CONFIG, at(-600), at(0));
        assertFalse(guards.reported("f", at(1)));
        guards.observed(sample("a", 1, 1));
        assertTrue(guards.reported("f", at(2)), "a sample arrived");
        assertFalse(guards.reported("f", at(4)), "it aged out: the function's samples go to another autoscaler now, or nobody runs it");
        DecisionGuards silent = new DecisionGuards(T0);
        silent.deployed("f", CONFIG, at(-600), at(0));
        assertFalse(silent.reported("f", at(600)), "another autoscaler gets this function's samples: this one never decides it");
    }

    @Test
    void aDeployKeepsItsReplicaForStableWindowPlusGraceButNeverStartsOne() {
        DecisionGuards guards = new DecisionGuards(at(-600));
        guards.deployed("f", CONFIG, T0, at(0));
        assertEquals(0, guards.adjust("f", ZERO, at(5)).desiredReplicas(), "no replica reported: zero stays zero");
        guards.observed(sample("a", 5, 1));
        assertEquals(1, guards.adjust("f", ZERO, at(6)).desiredReplicas());
        guards.observed(sample("a", 90, 1));
        assertEquals(0, guards.adjust("f", ZERO, at(90)).desiredReplicas(), "60 s + 30 s after the deploy");
    }

    @Test
    void aRestartOfTheRoleCountsLikeADeploy() {
        DecisionGuards guards = new DecisionGuards(T0);
        guards.deployed("f", CONFIG, at(-3600), at(0));
        guards.observed(sample("a", 10, 2));
        assertEquals(1, guards.adjust("f", ZERO, at(10)).desiredReplicas());
        assertEquals(3, guards.adjust("f", new Decision(3, true, 0, 0, 0, "busy"), at(10)).desiredReplicas(), "only zero is changed");
    }

    @Test
    void theDecisionIsSpreadOverTheInvokersThatReportedLately() {
        DecisionGuards guards = new DecisionGuards(T0);
        guards.deployed("f", CONFIG, T0, at(0));
        assertEquals(Map.of(), guards.replicasByInvoker("f", at(1)));
        guards.observed(sample("a", 1, 1));
        guards.observed(sample("b", 2, 1));
        assertEquals(Map.of("a", 1, "b", 1), guards.replicasByInvoker("f", at(3)));
        assertEquals(Map.of("b", 1), guards.replicasByInvoker("f", at(4)), "a's sample is 3 s old: it aged out");
        guards.forget("f");
        assertEquals(0, guards.reportedReplicas("f", at(4)));
    }
}
