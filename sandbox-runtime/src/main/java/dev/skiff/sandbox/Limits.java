package dev.skiff.sandbox;

/**
 * Resource limits of one sandbox, enforced by its cgroup.
 *
 * @param memoryBytes hard memory limit; swap is off, so exceeding it OOM-kills
 * @param pids        max processes and threads
 * @param cpuMillis   CPU quota in thousandths of a CPU per period; 0 means no quota
 * @param cpuWeight   share of CPU under contention, cgroup v2 scale 1..10000 (100 = normal);
 *                    on v1 it becomes cpu.shares = weight * 1024 / 100
 */
public record Limits(long memoryBytes, int pids, int cpuMillis, int cpuWeight) {
    public static final int DEFAULT_CPU_WEIGHT = 100;
    public static final Limits DEFAULT = new Limits(128L << 20, 64, 0);

    public Limits {
        if (memoryBytes < (4L << 20)) throw new IllegalArgumentException("memory limit below 4 MiB: " + memoryBytes);
        if (pids < 1) throw new IllegalArgumentException("pids limit must be at least 1: " + pids);
        if (cpuMillis < 0) throw new IllegalArgumentException("cpu must not be negative: " + cpuMillis);
        if (cpuWeight < 1 || cpuWeight > 10_000) throw new IllegalArgumentException("cpu weight must be 1..10000: " + cpuWeight);
    }

    public Limits(long memoryBytes, int pids, int cpuMillis) {
        this(memoryBytes, pids, cpuMillis, DEFAULT_CPU_WEIGHT);
    }
}
