package dev.skiff.autoscaler;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Turns func.yaml's {@code scale:} section into a {@link ScalingConfig}. */
final class ScaleSection {
    static final List<String> KEYS = List.of("target", "utilization", "stableWindow", "panicWindow", "panicThreshold",
            "maxScaleUpRate", "maxScaleDownRate", "scaleToZeroGrace", "scaleDownDelay", "sampleMaxAge");
    private static final Pattern DURATION = Pattern.compile("(\\d{1,12})\\s*(ms|s|m|h)?");

    private ScaleSection() {}

    static ScalingConfig parse(Map<?, ?> section, int concurrency, int minScale, int maxScale) {
        if (concurrency < 1) throw new IllegalArgumentException("concurrency must be 1 or more, got " + concurrency);
        Map<?, ?> map = section == null ? Map.of() : section;
        for (Object key : map.keySet()) {
            if (!KEYS.contains(String.valueOf(key))) {
                throw new IllegalArgumentException("func.yaml scale: has an unknown key '" + key + "'; known keys: " + String.join(", ", KEYS));
            }
        }
        return new ScalingConfig(
                number(map, "target", concurrency),
                number(map, "utilization", ScalingConfig.DEFAULT_UTILIZATION),
                duration(map, "stableWindow", ScalingConfig.DEFAULT_STABLE_WINDOW),
                duration(map, "panicWindow", ScalingConfig.DEFAULT_PANIC_WINDOW),
                number(map, "panicThreshold", ScalingConfig.DEFAULT_PANIC_THRESHOLD),
                number(map, "maxScaleUpRate", ScalingConfig.DEFAULT_MAX_SCALE_UP_RATE),
                number(map, "maxScaleDownRate", ScalingConfig.DEFAULT_MAX_SCALE_DOWN_RATE),
                duration(map, "scaleToZeroGrace", ScalingConfig.DEFAULT_SCALE_TO_ZERO_GRACE),
                duration(map, "scaleDownDelay", ScalingConfig.DEFAULT_SCALE_DOWN_DELAY),
                minScale,
                maxScale,
                duration(map, "sampleMaxAge", ScalingConfig.DEFAULT_SAMPLE_MAX_AGE));
    }

    private static double number(Map<?, ?> map, String key, double dflt) {
        Object v = map.get(key);
        if (v == null) return dflt;
        if (v instanceof Number n) return n.doubleValue();
        try {
            if (v instanceof String s) return Double.parseDouble(s.trim());
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("scale." + key + " must be a number, got '" + v + "'");
    }

    /** {@code 500ms}, {@code 60s}, {@code 2m}, {@code 1h}; a plain whole number means seconds. */
    static Duration duration(Map<?, ?> map, String key, Duration dflt) {
        Object v = map.get(key);
        if (v == null) return dflt;
        Matcher m = (v instanceof String || v instanceof Integer || v instanceof Long) ? DURATION.matcher(String.valueOf(v).trim()) : null;
        if (m == null || !m.matches()) {
            throw new IllegalArgumentException("scale." + key + " must be a duration like 500ms, 60s, 2m or 1h, got '" + v + "'");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofSeconds(n);
        };
    }
}
