package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The bounds a sandbox's resource limits must respect. */
class LimitsTest {
    @Test
    void refusesMemoryBelowFourMebibytes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Limits((4L << 20) - 1, 64, 0));
        assertTrue(e.getMessage().contains("4 MiB"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Limits(0, 64, 0));
        assertThrows(IllegalArgumentException.class, () -> new Limits(-1, 64, 0));
    }

    @Test
    void acceptsExactlyFourMebibytes() {
        assertEquals(4L << 20, new Limits(4L << 20, 64, 0).memoryBytes());
    }

    @Test
    void refusesFewerThanOnePid() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Limits(64L << 20, 0, 0));
        assertTrue(e.getMessage().contains("pids"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Limits(64L << 20, -5, 0));
        assertEquals(1, new Limits(64L << 20, 1, 0).pids());
    }

    @Test
    void refusesNegativeCpu() {
        assertThrows(IllegalArgumentException.class, () -> new Limits(64L << 20, 64, -1));
    }

    @Test
    void defaultIs128MebibytesAnd64PidsWithoutCpuQuota() {
        assertEquals(new Limits(128L << 20, 64, 0), Limits.DEFAULT);
    }
}
