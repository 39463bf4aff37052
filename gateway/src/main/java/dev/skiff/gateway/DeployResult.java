package dev.skiff.gateway;

/** Answer to a deploy: where the function is, and whether its first replica came up. */
public record DeployResult(String name, long version, String url, boolean ready, String message) {}
