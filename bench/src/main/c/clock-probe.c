/* Prints CLOCK_MONOTONIC in nanoseconds (the clock behind Java's System.nanoTime on Linux) and
 * exits. Run as a sandbox's function, it timestamps the moment the function starts, so the
 * benchmark can split "spawn -> function running" (skiff-init's work) from "function exit ->
 * onExit" (teardown). Static, so it needs nothing from the sandbox's root. */
#include <stdio.h>
#include <time.h>

int main(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    printf("%lld\n", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
    return 0;
}
