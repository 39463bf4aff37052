package dev.skiff.autoscaler;

import static dev.skiff.autoscaler.Scenario.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AutoscalerTest {
    private final Autoscaler autoscaler = new Autoscaler();

    @Test
    void eachFunctionIsDecidedOnItsOwnSamples() {
        autoscaler.configure("api", ScalingConfig.defaults(5, 0, 100));
        autoscaler.configure("batch", ScalingConfig.defaults(1, 0, 100));
        autoscaler.configure("idle", ScalingConfig.defaults(1, 1, 100));
        assertEquals(Optional.empty(), autoscaler.observe(new LoadSample("i1", "api", at(0.5), 10, 4, 2, 30)));
        assertEquals(Optional.empty(), autoscaler.observe(new LoadSample("i2", "api", at(0.4), 3, 0, 1, 9)));
        assertEquals(Optional.empty(), autoscaler.observe(new LoadSample("i1", "batch", at(0.5), 7, 0, 7, 7)));
        Map<String, Decision> decisions = autoscaler.decideAll(at(0.6), Map.of("api", 4, "batch", 7, "idle", 1));
        assertEquals(List.of("api", "batch", "idle"), List.copyOf(decisions.keySet()));
        assertEquals(17, decisions.get("api").currentConcurrency());
        assertEquals(5, decisions.get("api").desiredReplicas(), "ceil(17 / 3.5)");
        assertEquals(10, decisions.get("batch").desiredReplicas(), "ceil(7 / 0.7)");
        assertEquals(1, decisions.get("idle").desiredReplicas(), "minScale");
    }

    @Test
    void withoutAGivenReplicaCountTheInvokersReportsAreUsed() {
        autoscaler.configure("api", ScalingConfig.defaults(5, 0, 100));
        autoscaler.observe(new LoadSample("i1", "api", at(0.5), 3, 0, 2, 3));
        autoscaler.observe(new LoadSample("i2", "api", at(0.5), 4, 0, 2, 4));
        Decision d = autoscaler.decideAll(at(0.6), Map.of()).get("api");
        assertFalse(d.panicking(), "7 calls on 4 reported replicas is no panic: " + d.reason());
        assertTrue(autoscaler.decideAll(at(1.6), Map.of("api", 0)).get("api").panicking(), "but on 0 replicas it is");
    }

    @Test
    void malformedSamplesAndUnknownFunctionsAreSkippedWithAReason() {
        autoscaler.configure("api", ScalingConfig.defaults(5, 0, 100));
        assertEquals(Optional.of("no sample"), autoscaler.observe(null));
        assertEquals(Optional.of("sample without an invoker"), autoscaler.observe(new LoadSample(null, "api", at(0.5), 1, 0, 1, 1)));
        assertTrue(autoscaler.observe(new LoadSample("i1", null, at(0.5), 1, 0, 1, 1)).isPresent());
        assertTrue(autoscaler.observe(new LoadSample("i1", "api", null, 1, 0, 1, 1)).isPresent());
        assertTrue(autoscaler.observe(new LoadSample("i1", "api", at(0.5), 1, -2, 1, 1)).get().contains("negative"));
        assertTrue(autoscaler.observe(new LoadSample("i1", "api", at(0.5), 1, 0, 1, -1)).get().contains("negative"));
        assertEquals(Optional.of("sample from i1 for unknown function web"),
                autoscaler.observe(new LoadSample("i1", "web", at(0.5), 1, 0, 1, 1)));
        Decision d = autoscaler.decide("api", at(0.6), 0).orElseThrow();
        assertEquals(0, d.desiredReplicas(), "nothing was recorded: " + d.reason());
        assertEquals(Optional.empty(), autoscaler.decide("web", at(0.6), 0));
    }

    @Test
    void forgettingAFunctionDropsItsSamples() {
        autoscaler.configure("api", ScalingConfig.defaults(5, 0, 100));
        autoscaler.observe(new LoadSample("i1", "api", at(0.5), 30, 0, 1, 30));
        assertTrue(autoscaler.forget("api"));
        assertFalse(autoscaler.forget("api"));
        assertEquals(Set.of(), autoscaler.functions());
        assertTrue(autoscaler.observe(new LoadSample("i1", "api", at(0.7), 30, 0, 1, 30)).isPresent());
        autoscaler.configure("api", ScalingConfig.defaults(5, 0, 100));
        assertEquals(0, autoscaler.decide("api", at(0.8), 0).orElseThrow().desiredReplicas());
    }

    @Test
    void reconfiguringAFunctionKeepsItsSamples() {
        autoscaler.configure("api", ScalingConfig.defaults(5, 0, 100));
        autoscaler.observe(new LoadSample("i1", "api", at(0.5), 30, 0, 9, 30));
        autoscaler.configure("api", ScalingConfig.defaults(5, 0, 4));
        Decision d = autoscaler.decide("api", at(0.6), 3).orElseThrow();
        assertEquals(30.0, d.stableConcurrency());
        assertEquals(4, d.desiredReplicas(), "the new maxScale");
    }

    @Test
    void aBadConfigurationIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> autoscaler.configure("api", null));
        assertThrows(IllegalArgumentException.class, () -> autoscaler.configure(" ", ScalingConfig.defaults(1, 0, 1)));
        assertThrows(IllegalArgumentException.class, () -> autoscaler.configure(null, ScalingConfig.defaults(1, 0, 1)));
        assertFalse(autoscaler.forget(null));
        assertEquals(Optional.empty(), autoscaler.decide(null, at(0), 0));
        assertEquals(Set.of(), autoscaler.functions());
    }
}
