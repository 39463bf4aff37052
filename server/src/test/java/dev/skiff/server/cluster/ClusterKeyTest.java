package dev.skiff.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ClusterKeyTest {
    @Test
    void onlyWellFormedKeyRecordsCount() {
        String k = new String(ClusterKey.newKey(), StandardCharsets.UTF_8);
        assertEquals(k, ClusterKey.keyOf("cluster-key/node-a", k.getBytes(StandardCharsets.UTF_8)));
        assertNull(ClusterKey.keyOf("something-else", k.getBytes(StandardCharsets.UTF_8)));
        assertNull(ClusterKey.keyOf("cluster-key/node-a", null), "a tombstone");
        assertNull(ClusterKey.keyOf("cluster-key/node-a", "short".getBytes(StandardCharsets.UTF_8)));
        assertNull(ClusterKey.keyOf(null, k.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void newKeysAreRandom() {
        assertNotEquals(new String(ClusterKey.newKey(), StandardCharsets.UTF_8), new String(ClusterKey.newKey(), StandardCharsets.UTF_8));
    }

    @Test
    void nothingIsAdmittedBeforeTheKeyIsKnown() {
        ClusterKey key = new ClusterKey();
        assertFalse(key.known());
        assertFalse(key.admits(null));
        assertFalse(key.admits(""));
        assertFalse(key.admits("anything"));
        assertTrue(key.value() == null);
    }
}
