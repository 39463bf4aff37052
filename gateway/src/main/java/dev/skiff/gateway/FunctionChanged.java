package dev.skiff.gateway;

/**
 * A CDI event the management API fires, inside its one-switch-at-a-time section, when a
 * function's current version changed (deploy, rollback) or it was deleted ({@code stored} null).
 * The function catalog observes it to share the change with other gateways and invokers.
 */
public record FunctionChanged(String name, FunctionStore.Stored stored) {}
