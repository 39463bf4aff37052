package dev.skiff.bench;

import java.io.PrintStream;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;

/** The printing every benchmark shares: section headings and the summary block to paste into an issue. */
final class Report {
    private Report() {}

    static void heading(PrintStream out, String title) {
        out.println();
        out.println("== " + title);
        out.println();
    }

    /** The summary: what ran where, how to reproduce it, the lines collected along the way, and any problems. */
    static void summary(PrintStream out, String benchmark, String hostLine, String repro, List<String> lines, List<String> problems) {
        out.println();
        out.println("== summary (paste into the issue)");
        out.println();
        out.println("```");
        out.println(benchmark + ", " + ZonedDateTime.now().format(DateTimeFormatter.ISO_LOCAL_DATE));
        out.println("host: " + hostLine);
        out.println("reproduce: " + repro);
        out.println("```");
        out.println();
        lines.forEach(out::println);
        if (!problems.isEmpty()) {
            out.println();
            out.println("PROBLEMS:");
            problems.forEach(p -> out.println("- " + p));
        }
    }
}
