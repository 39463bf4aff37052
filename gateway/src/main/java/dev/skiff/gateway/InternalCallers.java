package dev.skiff.gateway;

/**
 * Who may call an invoker's /internal routes: only the gateways of its own cluster, which present
 * the cluster key in {@value #KEY_HEADER}. Without this check, anyone who reaches an invoker's
 * port (on a single machine, the public port itself) could run a function past its token
 * requirement and with X-Forwarded-* headers of their choosing.
 */
public interface InternalCallers {
    String KEY_HEADER = "X-Skiff-Cluster-Key";

    /** True when {@code presentedKey} is this cluster's key; false for null or any other value, or while the key is not known yet. */
    boolean admits(String presentedKey);
}
