package dev.skiff.server.health;

import dev.skiff.invoker.LocalInvoker;
import dev.skiff.invoker.SkiffConfig;
import dev.skiff.server.cluster.ClusterKey;
import dev.skiff.server.cluster.InvokerRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready needs an invoker that takes calls: this process's own, or (on a gateway) at least one
 * that announced itself on fn.invokers lately, once this gateway knows the cluster key (without
 * it every invoker refuses its calls). (Kafka's part of readiness comes from the SmallRye
 * Kafka connector's own checks on the fn.metrics and fn.scale channels.)
 */
@Readiness
@ApplicationScoped
public class InvokerReadiness implements HealthCheck {
    @Inject
    LocalInvoker invoker;

    @Inject
    InvokerRegistry registry;

    @Inject
    SkiffConfig config;

    @Inject
    ClusterKey clusterKey;

    @Override
    public HealthCheckResponse call() {
        boolean local = config.role().invoker() && invoker.acceptsCalls();
        int remote = config.role().gateway() ? registry.liveCount() : 0;
        boolean keyKnown = clusterKey.known();
        return HealthCheckResponse.named("invoker").status(local || (remote > 0 && keyKnown))
                .withData("local", local).withData("announced", remote).withData("clusterKey", keyKnown).build();
    }
}
