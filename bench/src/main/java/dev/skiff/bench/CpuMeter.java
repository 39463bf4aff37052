package dev.skiff.bench;

import java.nio.file.Path;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * How busy the machine was with work other than this benchmark during a section: the whole
 * machine's busy CPU time (/proc/stat) minus this process's and its reaped children's
 * (/proc/self/stat). Kernel workers the benchmark triggers (network namespace cleanup runs in
 * kworkers) count as "other", so a few percent is expected; tens of percent means another job
 * was competing for the CPUs and the absolute numbers of that section are inflated.
 */
final class CpuMeter {
    private final long[] machine0;
    private final LongSupplier ours;
    private final long self0;
    private final String load0;

    private CpuMeter(LongSupplier ours) {
        this.ours = ours;
        machine0 = machine();
        self0 = ours.getAsLong();
        load0 = Procfs.loadavg();
    }

    static CpuMeter start() {
        return new CpuMeter(CpuMeter::self);
    }

    /** Counts the CPU time {@code ours} reports (USER_HZ ticks) as the benchmark's own, not as other work. */
    static CpuMeter start(LongSupplier ours) {
        return new CpuMeter(ours);
    }

    /** {busy, total, steal} in USER_HZ ticks. */
    private static long[] machine() {
        String first = Procfs.read(Path.of("/proc/stat")).lines().findFirst().orElse("");
        String[] f = first.trim().split("\\s+");
        long busy = 0, total = 0, steal = 0;
        for (int i = 1; i < f.length && i <= 8; i++) {
            long v = Long.parseLong(f[i]);
            total += v;
            if (i != 4 && i != 5 && i != 8) busy += v; // not idle, iowait or steal (reported apart)
            if (i == 8) steal = v;
        }
        return new long[] {busy, total, steal};
    }

    /** utime + stime + cutime + cstime of this process, in USER_HZ ticks. */
    static long self() {
        String s = Procfs.read(Path.of("/proc/self/stat"));
        String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
        // after "pid (comm) ": state is f[0], so utime (field 14) is f[11]
        return Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
    }

    /** One line: other work's share of the machine's CPU time, steal, load average before and after. */
    String report() {
        long[] m = machine();
        long total = Math.max(1, m[1] - machine0[1]);
        long busy = m[0] - machine0[0];
        long ours = this.ours.getAsLong() - self0;
        double other = Math.max(0, busy - ours) * 100.0 / total;
        double steal = (m[2] - machine0[2]) * 100.0 / total;
        return String.format(Locale.ROOT, "CPU used by other work during this section: %.0f%% of the machine (steal %.0f%%); load average %s -> %s",
                other, steal, load0, Procfs.loadavg());
    }

    double otherPercent() {
        long[] m = machine();
        long total = Math.max(1, m[1] - machine0[1]);
        return Math.max(0, (m[0] - machine0[0]) - (ours.getAsLong() - self0)) * 100.0 / total;
    }
}
