package dev.skiff.autoscaler;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * The scaling decision of one function (Knative KPA's algorithm), a deterministic function of its
 * config, the samples it was given and the instants it is asked at: it reads no clock and does no
 * I/O. Not thread-safe; instants passed to {@link #decide} must not go backwards.
 *
 * <p>Each decision, with usable = target x utilization per replica and current = the replicas
 * the function has now:
 * <ol>
 * <li><b>Panic</b>: the panic condition holds when the panic average is above 0 and
 *     panic average / usable &gt;= panicThreshold x current (so any demand when current is 0).
 *     See {@link PanicMode} for when panic ends: a stable window after the last decision whose
 *     condition held.
 * <li><b>Rate limits</b>: at most ceil(maxScaleUpRate x max(1, current)), at least
 *     floor(current / maxScaleDownRate).
 * <li><b>Desired</b>: while panicking, max(ceil(panic average / usable) within the limits,
 *     current, the previous decision): never down. Otherwise ceil(stable average / usable)
 *     within the limits.
 * <li><b>Scale to zero</b>: with T the last sample that showed traffic (calls running, waiting
 *     or taken), or the first instant this scaler saw if none did: desired is 0 once
 *     now &gt;= T + stableWindow + scaleToZeroGrace (the stable window has seen no traffic for a
 *     whole grace period), not panicking and the stable average is 0; this skips the scale-down
 *     rate. Before that, a desired 0 is raised to 1 while the function has replicas or saw
 *     traffic within the last stable window.
 * <li><b>Scale-down delay</b>: the highest of this and the decisions less than scaleDownDelay ago.
 * <li><b>Bounds</b>: clamped to [minScale, maxScale].
 * </ol>
 */
public final class FunctionScaler {
    private final String function;
    private final ConcurrencyWindow window = new ConcurrencyWindow();
    private final PanicMode panic = new PanicMode();
    private final ScaleDownDelay delay = new ScaleDownDelay();
    private ScalingConfig config;
    private Instant firstSeen;
    private Instant lastTraffic;
    private int previousDesired;

    public FunctionScaler(String function, ScalingConfig config) {
        if (function == null || function.isBlank()) throw new IllegalArgumentException("a function name is required");
        this.function = function;
        reconfigure(config);
    }

    public String function() {
        return function;
    }

    public ScalingConfig config() {
        return config;
    }

    /** Uses {@code config} from the next decision on; the samples and the panic state stay. */
    public void reconfigure(ScalingConfig config) {
        if (config == null) throw new IllegalArgumentException("a scaling config is required for " + function);
        this.config = config;
    }

    /** Records one invoker's sample; throws IllegalArgumentException for a malformed one or one of another function. */
    public void observe(LoadSample sample) {
        String problem = LoadSample.problem(sample);
        if (problem != null) throw new IllegalArgumentException(problem);
        if (!sample.function().equals(function)) {
            throw new IllegalArgumentException("sample for " + sample.function() + " given to the scaler of " + function);
        }
        if (firstSeen == null || sample.at().isBefore(firstSeen)) firstSeen = sample.at();
        if (sample.showsTraffic() && (lastTraffic == null || sample.at().isAfter(lastTraffic))) lastTraffic = sample.at();
        window.record(sample);
    }

    /** Replicas (warm and starting) the invokers whose samples still count report at {@code now}. */
    public int reportedReplicas(Instant now) {
        return window.reportedReplicas(now, config.sampleMaxAge());
    }

    public Decision decide(Instant now, int currentReplicas) {
        if (now == null) throw new IllegalArgumentException("the instant of the decision is required");
        if (currentReplicas < 0) throw new IllegalArgumentException("current replicas must be 0 or more, got " + currentReplicas);
        if (firstSeen == null) firstSeen = now;
        window.prune(now, config);
        ConcurrencyWindow.Averages seen = window.averages(now, config);
        double usable = config.usablePerReplica();
        boolean conditionHolds = seen.panic() > 0 && seen.panic() / usable >= config.panicThreshold() * currentReplicas;
        boolean panicking = panic.update(now, conditionHolds, config.stableWindow());
        int most = (int) Math.min(Integer.MAX_VALUE, Math.ceil(config.maxScaleUpRate() * Math.max(1, currentReplicas)));
        int least = (int) Math.floor(currentReplicas / config.maxScaleDownRate());

        int desired;
        StringBuilder reason = new StringBuilder();
        if (panicking) {
            int wanted = DesiredReplicas.forConcurrency(seen.panic(), usable);
            desired = Math.max(Math.min(wanted, most), Math.max(currentReplicas, previousDesired));
            reason.append(conditionHolds
                    ? format("panic: %ds demand %.1f needs %.1f replicas >= %s x %d", config.panicWindowSeconds(), seen.panic(),
                            seen.panic() / usable, number(config.panicThreshold()), currentReplicas)
                    : format("panic for %s more, no scale-down: %ds demand %.1f wants %d", seconds(panic.remaining(now, config.stableWindow())),
                            config.panicWindowSeconds(), seen.panic(), wanted));
            if (wanted > most && desired == most) reason.append("; scale-up limited to ").append(most);
        } else {
            // Up on the panic window's demand, down only on the stable window's. Skiff's calls
            // start replicas themselves when they find no free slot, so a step is often already
            // covered (and panic, judged against that capacity, never fires); the stable mean
            // alone would then lag the step by most of a window and even ask to halve the
            // replicas the calls just started.
            int stableWanted = DesiredReplicas.forConcurrency(seen.stable(), usable);
            int recentWanted = DesiredReplicas.forConcurrency(seen.panic(), usable);
            int wanted = Math.max(stableWanted, recentWanted);
            desired = Math.max(least, Math.min(most, wanted));
            if (recentWanted > stableWanted) {
                reason.append(format("recent: %ds demand %.1f wants %d (stable %ds: %d)", config.panicWindowSeconds(), seen.panic(),
                        recentWanted, config.stableWindowSeconds(), stableWanted));
            } else {
                reason.append(format("stable: %ds demand %.1f wants %d", config.stableWindowSeconds(), seen.stable(), wanted));
            }
            if (desired < wanted) reason.append("; scale-up limited to ").append(desired);
            if (desired > wanted) reason.append("; scale-down limited to ").append(desired);
        }

        Instant sinceTraffic = lastTraffic != null ? lastTraffic : firstSeen;
        Instant zeroAt = sinceTraffic.plus(config.stableWindow()).plus(config.scaleToZeroGrace());
        boolean trafficInStableWindow = lastTraffic != null && now.isBefore(lastTraffic.plus(config.stableWindow()));
        if (!panicking && seen.stable() == 0 && !now.isBefore(zeroAt)) {
            desired = 0;
            reason.setLength(0);
            reason.append("no traffic for ").append(seconds(Duration.between(sinceTraffic, now))).append(": zero");
        } else if (desired == 0 && (currentReplicas > 0 || trafficInStableWindow)) {
            desired = 1;
            reason.append("; keeps 1 until zero in ").append(seconds(Duration.between(now, zeroAt)));
        }

        int delayed = delay.apply(now, desired, config.scaleDownDelay());
        if (delayed > desired) reason.append("; scale-down delay keeps ").append(delayed);
        int bounded = Math.max(config.minScale(), Math.min(config.maxScale(), delayed));
        if (bounded > delayed) reason.append("; minScale ").append(bounded);
        if (bounded < delayed) reason.append("; maxScale ").append(bounded);
        previousDesired = bounded;
        return new Decision(bounded, panicking, seen.stable(), seen.panic(), seen.latest(), reason.toString());
    }

    private static String format(String pattern, Object... args) {
        return String.format(Locale.ROOT, pattern, args);
    }

    private static String number(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    private static String seconds(Duration d) {
        return format("%.1fs", d.toMillis() / 1000.0);
    }
}
