package dev.skiff.server.scale;

import dev.skiff.invoker.LocalInvoker;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * The invoker's side of fn.scale: converges each function toward the latest decision. A decision
 * older than {@link #MAX_AGE} is ignored (a restarted invoker or a lagging consumer must not act
 * on yesterday's load); without decisions the idle reaper and on-demand cold starts carry on.
 * Never throws: a bad message is logged and skipped (an exception would stop the channel).
 */
@ApplicationScoped
public class ScaleDecisionListener {
    private static final Logger LOG = Logger.getLogger(ScaleDecisionListener.class);
    static final Duration MAX_AGE = Duration.ofSeconds(5);

    @Inject
    LocalInvoker invoker;

    @Incoming("fn-scale-in")
    public void onDecision(String payload) {
        try {
            ScaleMessages.ScaleCommand command = ScaleMessages.parseDecision(payload);
            Duration age = Duration.between(command.at(), Instant.now());
            if (age.compareTo(MAX_AGE) > 0) {
                LOG.debugf("ignoring a decision for %s from %s ago", command.function(), age);
                return;
            }
            var target = command.targetFor(invoker.invokerId());
            if (target.isEmpty()) return;
            int change = invoker.scaleTo(command.function(), target.getAsInt());
            if (change != 0) {
                LOG.infof("%s: desired %d replicas%s%s, %s %d", command.function(), command.desired(),
                        command.targets().size() > 1 ? ", " + target.getAsInt() + " of them here" : "",
                        command.panicking() ? " (panic)" : "", change > 0 ? "starting" : "stopping", Math.abs(change));
            }
        } catch (ScaleMessages.MalformedMessage e) {
            LOG.warnf("skipping a message on fn.scale: %s", e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("skipping a decision that could not be applied", e);
        }
    }
}
