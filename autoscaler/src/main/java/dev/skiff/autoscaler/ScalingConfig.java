package dev.skiff.autoscaler;

import java.time.Duration;
import java.util.Map;

/**
 * How one function scales (Knative KPA's knobs, with its defaults). Samples are bucketed per
 * second, so the two windows are whole seconds. Every value is checked here; a bad one throws
 * {@link IllegalArgumentException} naming the func.yaml key.
 *
 * @param targetConcurrency calls one replica should serve at once (func.yaml {@code scale.target}, default: {@code concurrency})
 * @param targetUtilization share of that target to aim for, in (0, 1] ({@code scale.utilization}, 0.7)
 * @param stableWindow      the long average that sizes the function normally ({@code scale.stableWindow}, 60 s)
 * @param panicWindow       the short average that detects bursts ({@code scale.panicWindow}, 6 s)
 * @param panicThreshold    panic when the panic window wants this many times the current replicas ({@code scale.panicThreshold}, 2.0)
 * @param maxScaleUpRate    one decision asks for at most ceil(rate x max(1, current)) replicas ({@code scale.maxScaleUpRate}, 1000)
 * @param maxScaleDownRate  one decision asks for at least floor(current / rate) replicas ({@code scale.maxScaleDownRate}, 2)
 * @param scaleToZeroGrace  after a stable window without traffic, wait this long more before zero ({@code scale.scaleToZeroGrace}, 30 s)
 * @param scaleDownDelay    the highest desired count of this long ago is kept ({@code scale.scaleDownDelay}, 0 s)
 * @param minScale          replicas at least, also when idle (func.yaml {@code minScale}, 0)
 * @param maxScale          replicas at most (func.yaml {@code maxScale})
 * @param sampleMaxAge      an invoker whose latest sample is older than this no longer counts ({@code scale.sampleMaxAge}, 3 s)
 */
public record ScalingConfig(
        double targetConcurrency,
        double targetUtilization,
        Duration stableWindow,
        Duration panicWindow,
        double panicThreshold,
        double maxScaleUpRate,
        double maxScaleDownRate,
        Duration scaleToZeroGrace,
        Duration scaleDownDelay,
        int minScale,
        int maxScale,
        Duration sampleMaxAge) {

    public static final double DEFAULT_UTILIZATION = 0.7;
    public static final Duration DEFAULT_STABLE_WINDOW = Duration.ofSeconds(60);
    public static final Duration DEFAULT_PANIC_WINDOW = Duration.ofSeconds(6);
    public static final double DEFAULT_PANIC_THRESHOLD = 2.0;
    public static final double DEFAULT_MAX_SCALE_UP_RATE = 1000.0;
    public static final double DEFAULT_MAX_SCALE_DOWN_RATE = 2.0;
    public static final Duration DEFAULT_SCALE_TO_ZERO_GRACE = Duration.ofSeconds(30);
    public static final Duration DEFAULT_SCALE_DOWN_DELAY = Duration.ZERO;
    public static final Duration DEFAULT_SAMPLE_MAX_AGE = Duration.ofSeconds(3);
    /** The longest window, grace or delay accepted. */
    public static final Duration LONGEST = Duration.ofHours(1);

    public ScalingConfig {
        if (!(targetConcurrency > 0) || Double.isInfinite(targetConcurrency)) {
            fail("target concurrency per replica (scale.target) must be a number above 0, got " + targetConcurrency);
        }
        if (!(targetUtilization > 0 && targetUtilization <= 1)) {
            fail("target utilization (scale.utilization) must be above 0 and at most 1 (0.7 = 70%), got " + targetUtilization);
        }
        wholeSeconds("stableWindow", stableWindow, Duration.ofSeconds(1), LONGEST);
        wholeSeconds("panicWindow", panicWindow, Duration.ofSeconds(1), stableWindow);
        if (!(panicThreshold >= 1) || Double.isInfinite(panicThreshold)) {
            fail("panicThreshold must be a number of at least 1 (2.0 = panic at 200% of the current replicas), got " + panicThreshold);
        }
        if (!(maxScaleUpRate > 1) || Double.isInfinite(maxScaleUpRate)) {
            fail("maxScaleUpRate must be a number above 1, got " + maxScaleUpRate);
        }
        if (!(maxScaleDownRate > 1) || Double.isInfinite(maxScaleDownRate)) {
            fail("maxScaleDownRate must be a number above 1 (2 = at most halve per decision), got " + maxScaleDownRate);
        }
        within("scaleToZeroGrace", scaleToZeroGrace, Duration.ZERO, LONGEST);
        within("scaleDownDelay", scaleDownDelay, Duration.ZERO, LONGEST);
        if (minScale < 0) fail("minScale must be 0 or more, got " + minScale);
        if (maxScale < 1) fail("maxScale must be 1 or more, got " + maxScale);
        if (minScale > maxScale) fail("minScale (" + minScale + ") must not exceed maxScale (" + maxScale + ")");
        if (sampleMaxAge == null || sampleMaxAge.isNegative() || sampleMaxAge.isZero()) {
            fail("sampleMaxAge must be more than zero, got " + (sampleMaxAge == null ? "nothing" : text(sampleMaxAge)));
        }
        if (sampleMaxAge.compareTo(stableWindow) > 0) {
            fail("sampleMaxAge (" + text(sampleMaxAge) + ") must not exceed stableWindow (" + text(stableWindow) + ")");
        }
    }

    /** Every knob at its default; {@code targetConcurrency} is usually the function's {@code concurrency}. */
    public static ScalingConfig defaults(double targetConcurrency, int minScale, int maxScale) {
        return new ScalingConfig(targetConcurrency, DEFAULT_UTILIZATION, DEFAULT_STABLE_WINDOW, DEFAULT_PANIC_WINDOW,
                DEFAULT_PANIC_THRESHOLD, DEFAULT_MAX_SCALE_UP_RATE, DEFAULT_MAX_SCALE_DOWN_RATE, DEFAULT_SCALE_TO_ZERO_GRACE,
                DEFAULT_SCALE_DOWN_DELAY, minScale, maxScale, DEFAULT_SAMPLE_MAX_AGE);
    }

    /**
     * Reads the {@code scale:} section of func.yaml (null or empty: every default). Durations are
     * written {@code 500ms}, {@code 60s}, {@code 2m}, {@code 1h} or a plain number of seconds. An
     * unknown key is an error that names it.
     *
     * @param concurrency the function's {@code concurrency}, the default for {@code target}
     * @param minScale    the function's top-level {@code minScale}
     * @param maxScale    the function's top-level {@code maxScale}
     */
    public static ScalingConfig fromMap(Map<?, ?> scaleSection, int concurrency, int minScale, int maxScale) {
        return ScaleSection.parse(scaleSection, concurrency, minScale, maxScale);
    }

    /** Concurrency one replica should carry: target x utilization. */
    public double usablePerReplica() {
        return targetConcurrency * targetUtilization;
    }

    public int stableWindowSeconds() {
        return (int) stableWindow.toSeconds();
    }

    public int panicWindowSeconds() {
        return (int) panicWindow.toSeconds();
    }

    private static void wholeSeconds(String key, Duration d, Duration min, Duration max) {
        within(key, d, min, max);
        if (d.toNanosPart() != 0) fail(key + " must be a whole number of seconds (samples are kept per second), got " + d);
    }

    private static void within(String key, Duration d, Duration min, Duration max) {
        if (d == null) fail(key + " is missing");
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            fail(key + " must be from " + text(min) + " to " + text(max) + ", got " + text(d));
        }
    }

    private static String text(Duration d) {
        return d.toNanosPart() == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }

    private static void fail(String message) {
        throw new IllegalArgumentException(message);
    }
}
