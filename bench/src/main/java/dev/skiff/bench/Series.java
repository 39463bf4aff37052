package dev.skiff.bench;

import java.util.Arrays;
import java.util.Locale;

/** Durations of one measured thing, in nanoseconds, with nearest-rank percentiles. */
final class Series {
    private final String name;
    private long[] values = new long[64];
    private int n;

    Series(String name) {
        this.name = name;
    }

    String name() {
        return name;
    }

    void add(long nanos) {
        if (n == values.length) values = Arrays.copyOf(values, n * 2);
        values[n++] = nanos;
    }

    int count() {
        return n;
    }

    private long[] sorted() {
        long[] s = Arrays.copyOf(values, n);
        Arrays.sort(s);
        return s;
    }

    /** Nearest-rank percentile, in milliseconds. */
    double p(double percent) {
        if (n == 0) return Double.NaN;
        long[] s = sorted();
        int rank = (int) Math.ceil(percent / 100.0 * n);
        return s[Math.max(0, Math.min(n - 1, rank - 1))] / 1e6;
    }

    double min() {
        return n == 0 ? Double.NaN : sorted()[0] / 1e6;
    }

    double mean() {
        if (n == 0) return Double.NaN;
        double sum = 0;
        for (int i = 0; i < n; i++) sum += values[i];
        return sum / n / 1e6;
    }

    static String ms(double v) {
        if (Double.isNaN(v)) return "-";
        return String.format(Locale.ROOT, v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v);
    }
}
