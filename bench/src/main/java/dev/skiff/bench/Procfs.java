package dev.skiff.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The few /proc and cgroupfs readings the benchmark needs. Missing files read as 0 / empty. */
final class Procfs {
    private Procfs() {}

    static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** A "Key:   123 kB" field of /proc/PID/status or /proc/meminfo, in bytes (kB fields) or as is. */
    static long field(String text, String key) {
        for (String line : text.split("\n")) {
            if (!line.startsWith(key + ":")) continue;
            String[] parts = line.substring(key.length() + 1).trim().split("\\s+");
            try {
                long v = Long.parseLong(parts[0]);
                return parts.length > 1 && parts[1].equals("kB") ? v * 1024 : v;
            } catch (NumberFormatException e) {
                return 0;
            }
        }
        return 0;
    }

    static long rss(long pid) {
        return field(read(Path.of("/proc/" + pid + "/status")), "VmRSS");
    }

    /** Private anonymous memory (heap, stack, data) of a process. */
    static long rssAnon(long pid) {
        return field(read(Path.of("/proc/" + pid + "/status")), "RssAnon");
    }

    /** Proportional set size: shared pages divided among the processes that map them. */
    static long pss(long pid) {
        return field(read(Path.of("/proc/" + pid + "/smaps_rollup")), "Pss");
    }

    static long selfRss() {
        return field(read(Path.of("/proc/self/status")), "VmRSS");
    }

    static int selfThreads() {
        return (int) field(read(Path.of("/proc/self/status")), "Threads");
    }

    static Map<String, Long> meminfo() {
        Map<String, Long> m = new LinkedHashMap<>();
        String text = read(Path.of("/proc/meminfo"));
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) m.put(line.substring(0, colon), field(line, line.substring(0, colon)));
        }
        return m;
    }

    static String loadavg() {
        String s = read(Path.of("/proc/loadavg")).trim();
        String[] p = s.split(" ");
        return p.length >= 3 ? p[0] + " " + p[1] + " " + p[2] : s;
    }

    /** argv of a process, or an empty list when it is gone. */
    static List<String> cmdline(long pid) {
        String s = read(Path.of("/proc/" + pid + "/cmdline"));
        List<String> args = new ArrayList<>();
        for (String a : s.split("\0")) if (!a.isEmpty()) args.add(a);
        return args;
    }

    /** Host PIDs whose argv[0] is exactly {@code exe}. */
    static List<Long> processesRunning(String exe) {
        List<Long> pids = new ArrayList<>();
        try (var dirs = Files.list(Path.of("/proc"))) {
            for (Path d : dirs.toList()) {
                String name = d.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) continue;
                List<String> argv = cmdline(Long.parseLong(name));
                if (!argv.isEmpty() && argv.get(0).equals(exe)) pids.add(Long.parseLong(name));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc: " + e.getMessage(), e);
        }
        return pids;
    }

    static List<Long> pids(Path procsFile) {
        List<Long> pids = new ArrayList<>();
        for (String line : read(procsFile).split("\n")) {
            if (!line.isBlank()) pids.add(Long.parseLong(line.trim()));
        }
        return pids;
    }

    static long readLong(Path p) {
        String s = read(p).trim();
        try {
            return s.isEmpty() ? 0 : Long.parseLong(s);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** A "key value" file such as memory.stat. */
    static Map<String, Long> keyed(Path p) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String line : read(p).split("\n")) {
            String[] kv = line.trim().split("\\s+");
            if (kv.length != 2) continue;
            try {
                m.put(kv[0], Long.parseLong(kv[1]));
            } catch (NumberFormatException ignored) {
                // not a number
            }
        }
        return m;
    }

    static List<Path> childDirs(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (var s = Files.list(dir)) {
            return s.filter(Files::isDirectory).toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
