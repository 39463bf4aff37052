package dev.skiff.autoscaler;

/**
 * The core of the scaling decision, as a plain function of its inputs (Knative KPA's formula):
 * desired = ceil(observed concurrency / (target concurrency per replica x target utilization)),
 * clamped to [minScale, maxScale]. {@link FunctionScaler} feeds it windowed averages.
 */
public final class DesiredReplicas {
    /** Slack for floating point: 35 / 3.5 must be 10 replicas even when 3.5 is a hair below 3.5. */
    private static final double EPSILON = 1e-9;

    private DesiredReplicas() {}

    public static int compute(double observedConcurrency, double targetPerReplica, double targetUtilization, int minScale, int maxScale) {
        if (targetPerReplica <= 0 || targetUtilization <= 0 || targetUtilization > 1) {
            throw new IllegalArgumentException("target concurrency must be > 0 and utilization in (0, 1]");
        }
        if (minScale < 0 || maxScale < minScale) throw new IllegalArgumentException("need 0 <= minScale <= maxScale");
        int desired = forConcurrency(observedConcurrency, targetPerReplica * targetUtilization);
        return Math.max(minScale, Math.min(maxScale, desired));
    }

    /** ceil(concurrency / usablePerReplica), unclamped; 0 for no (or negative) concurrency. */
    static int forConcurrency(double concurrency, double usablePerReplica) {
        double replicas = Math.max(0, concurrency) / usablePerReplica;
        return (int) Math.min(Integer.MAX_VALUE, Math.ceil(replicas - EPSILON));
    }
}
