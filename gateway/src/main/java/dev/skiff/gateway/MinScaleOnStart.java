package dev.skiff.gateway;

import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.Invoker;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

/** After a restart, functions with minScale > 0 get their warm replicas back without waiting for a call. */
@ApplicationScoped
public class MinScaleOnStart {
    private static final Logger LOG = Logger.getLogger(MinScaleOnStart.class);

    @Inject
    FunctionStore store;

    @Inject
    Invoker invoker;

    void warm(@Observes @Priority(jakarta.interceptor.Interceptor.Priority.APPLICATION + 100) StartupEvent ignored) {
        for (FunctionStore.Stored s : store.list()) {
            if (s.deployment().config().minScale() == 0) continue;
            Thread.ofVirtual().name("minscale-" + s.deployment().name()).start(() -> {
                try {
                    invoker.warmUp(s.deployment());
                } catch (InvocationException e) {
                    LOG.warnf("could not warm %s: %s", s.deployment().name(), e.getMessage());
                }
            });
        }
    }
}
