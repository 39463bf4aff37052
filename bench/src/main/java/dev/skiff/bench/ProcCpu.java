package dev.skiff.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** CPU time of processes and process trees from /proc/PID/stat, in USER_HZ ticks (10 ms). */
final class ProcCpu {
    static final double TICK_NANOS = 1e9 / 100; // USER_HZ is 100 on every Linux architecture we run on

    private ProcCpu() {}

    /** The fields after "pid (comm) ": f[0] is state, f[1] ppid, f[11..14] utime stime cutime cstime. */
    private static String[] fields(long pid) {
        String s = Procfs.read(Path.of("/proc/" + pid + "/stat"));
        int close = s.lastIndexOf(')');
        if (close < 0) return null;
        return s.substring(close + 2).trim().split(" ");
    }

    /** utime + stime of one process (all its threads, dead ones included); 0 when it is gone. */
    static long ticks(long pid) {
        String[] f = fields(pid);
        return f == null || f.length < 15 ? 0 : Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /** Same plus the CPU time of its reaped children. */
    static long ticksWithReaped(long pid) {
        String[] f = fields(pid);
        return f == null || f.length < 15 ? 0
                : Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
    }

    /** Every live process under {@code root}, root included. */
    static List<Long> tree(long root) {
        Map<Long, List<Long>> children = new HashMap<>();
        try (var s = Files.list(Path.of("/proc"))) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) continue;
                String[] f = fields(Long.parseLong(name));
                if (f == null || f.length < 2) continue;
                children.computeIfAbsent(Long.parseLong(f[1]), k -> new ArrayList<>()).add(Long.parseLong(name));
            }
        } catch (IOException e) {
            return List.of(root);
        }
        List<Long> out = new ArrayList<>();
        List<Long> todo = new ArrayList<>(List.of(root));
        while (!todo.isEmpty()) {
            long p = todo.removeLast();
            out.add(p);
            todo.addAll(children.getOrDefault(p, List.of()));
        }
        return out;
    }

    /** CPU of a whole tree: each live process with its reaped children. */
    static long treeTicks(long root) {
        long sum = 0;
        for (long p : tree(root)) sum += ticksWithReaped(p);
        return sum;
    }

    /** Live processes under {@code root} whose command name (comm) is {@code comm}. */
    static List<Long> named(long root, String comm) {
        List<Long> out = new ArrayList<>();
        for (long p : tree(root)) {
            if (p != root && Procfs.read(Path.of("/proc/" + p + "/comm")).trim().equals(comm)) out.add(p);
        }
        return out;
    }

    /**
     * CPU of a JVM's threads grouped by what they do (from their names): virtual-thread carriers,
     * Vert.x event loops, I/O pollers, the invoker's timer thread, JIT, GC, other. Threads that
     * ended in between are missed; the JVM's threads of interest live as long as it does.
     */
    static Map<String, Long> byThreadGroup(long pid) {
        Map<String, Long> out = new java.util.TreeMap<>();
        try (var s = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : s.toList()) {
                String stat = Procfs.read(t.resolve("stat"));
                int close = stat.lastIndexOf(')');
                if (close < 0) continue;
                String[] f = stat.substring(close + 2).trim().split(" ");
                if (f.length < 13) continue;
                long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
                out.merge(group(Procfs.read(t.resolve("comm")).trim()), ticks, Long::sum);
            }
        } catch (IOException e) {
            // gone
        }
        return out;
    }

    static String group(String comm) {
        if (comm.startsWith("ForkJoinPool")) return "virtual-thread carriers";
        if (comm.startsWith("vert.x-eventloo")) return "Vert.x event loops";
        if (comm.endsWith("Poller")) return "I/O pollers";
        if (comm.startsWith("invoker-timers")) return "invoker-timers (call watchdogs)";
        if (comm.contains("CompilerThre")) return "JIT compiler";
        if (comm.startsWith("GC ") || comm.startsWith("G1 ") || comm.matches("G\\d.*")) return "GC";
        return "other";
    }
}
