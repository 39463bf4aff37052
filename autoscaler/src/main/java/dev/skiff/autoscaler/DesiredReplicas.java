package dev.skiff.autoscaler;

/**
 * The core of the scaling decision, as a plain function of its inputs (Knative KPA's formula):
 * desired = ceil(observed concurrency / (target concurrency per replica x target utilization)),
 * clamped to [minScale, maxScale]. The windows, panic mode and the Kafka wiring that feed it
 * come with the autoscaler issue; the request path never waits for this.
 */
public final class DesiredReplicas {
    private DesiredReplicas() {}

    public static int compute(double observedConcurrency, double targetPerReplica, double targetUtilization, int minScale, int maxScale) {
        if (targetPerReplica <= 0 || targetUtilization <= 0 || targetUtilization > 1) {
            throw new IllegalArgumentException("target concurrency must be > 0 and utilization in (0, 1]");
        }
        if (minScale < 0 || maxScale < minScale) throw new IllegalArgumentException("need 0 <= minScale <= maxScale");
        int desired = (int) Math.ceil(Math.max(0, observedConcurrency) / (targetPerReplica * targetUtilization));
        return Math.max(minScale, Math.min(maxScale, desired));
    }
}
