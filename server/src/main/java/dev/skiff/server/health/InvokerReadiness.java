package dev.skiff.server.health;

import dev.skiff.invoker.LocalInvoker;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready needs an invoker that takes calls. (Kafka's part of readiness comes from the SmallRye
 * Kafka connector's own checks on the fn.metrics and fn.scale channels.)
 */
@Readiness
@ApplicationScoped
public class InvokerReadiness implements HealthCheck {
    @Inject
    LocalInvoker invoker;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("invoker").status(invoker.acceptsCalls()).build();
    }
}
