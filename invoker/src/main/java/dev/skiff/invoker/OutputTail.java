package dev.skiff.invoker;

import java.util.ArrayDeque;
import java.util.List;

/** The last few lines a replica printed, to explain why it failed to start or crashed. */
final class OutputTail {
    private final int max;
    private final ArrayDeque<String> lines = new ArrayDeque<>();

    OutputTail(int max) {
        this.max = max;
    }

    synchronized void add(String line) {
        if (lines.size() == max) lines.removeFirst();
        lines.addLast(line);
    }

    synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    String joined() {
        return String.join("\n", lines());
    }
}
