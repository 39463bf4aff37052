package dev.skiff.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small helpers for reading and writing cgroupfs files, shared by the v1 and v2 implementations. */
final class CgroupFiles {
    private CgroupFiles() {}

    static void write(Path file, String value) throws IOException {
        try {
            Files.writeString(file, value, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IOException("cannot write '" + value + "' to " + file + ": " + e.getMessage(), e);
        }
    }

    static long readLong(Path file, long fallback) {
        try {
            String s = Files.readString(file, StandardCharsets.US_ASCII).trim();
            return s.equals("max") ? Long.MAX_VALUE : Long.parseLong(s);
        } catch (IOException | NumberFormatException e) {
            return fallback;
        }
    }

    /** Reads a "key value" per line file such as memory.stat or memory.events. */
    static Map<String, Long> readKeyed(Path file) {
        Map<String, Long> values = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                String[] kv = line.trim().split("\\s+");
                if (kv.length == 2) {
                    try {
                        values.put(kv[0], Long.parseLong(kv[1]));
                    } catch (NumberFormatException ignored) {
                        // not a counter
                    }
                }
            }
        } catch (IOException ignored) {
            // absent on this kernel
        }
        return values;
    }

    static List<Long> readPids(Path procsFile) {
        List<Long> pids = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(procsFile, StandardCharsets.US_ASCII)) {
                if (!line.isBlank()) pids.add(Long.parseLong(line.trim()));
            }
        } catch (NoSuchFileException ignored) {
            // already removed
        } catch (IOException e) {
            // unreadable: treat as empty; rmdir will tell if it is not
        }
        return pids;
    }

    /**
     * Kills every process in the cgroup and removes its directory, retrying while the kernel
     * finishes tearing the processes down (rmdir answers EBUSY until then).
     */
    static void killAndRemove(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return;
        // Usually the sandbox is already empty (its PID namespace died with init): try the
        // rmdir first and only look for processes to kill when the kernel says it is busy.
        try {
            Files.deleteIfExists(dir);
            return;
        } catch (IOException busy) {
            // fall through to kill and retry
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (true) {
            for (long pid : readPids(dir.resolve("cgroup.procs"))) NativeSyscalls.kill(pid, Linux.SIGKILL);
            try {
                Files.deleteIfExists(dir);
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) throw new IOException("cannot remove cgroup " + dir + ": " + e.getMessage(), e);
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while removing cgroup " + dir, ie);
            }
        }
    }
}
