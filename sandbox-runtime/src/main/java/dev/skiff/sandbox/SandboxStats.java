package dev.skiff.sandbox;

/**
 * Resource use of one sandbox, read from its cgroup.
 *
 * @param memoryBytes     memory in use now
 * @param memoryPeakBytes highest memory use seen
 * @param cpuNanos        CPU time used by all its processes
 * @param oomKills        processes killed for exceeding the memory limit
 */
public record SandboxStats(long memoryBytes, long memoryPeakBytes, long cpuNanos, long oomKills) {
    public static final SandboxStats NONE = new SandboxStats(0, 0, 0, 0);
}
