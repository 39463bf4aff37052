package dev.skiff.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.invoker.SkiffConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Deployed functions live in the data directory and survive a restart; a crashed deploy leaves nothing. */
class FunctionStoreTest {
    @TempDir
    Path data;

    FunctionStore open() throws IOException {
        FunctionStore store = new FunctionStore();
        store.config = config(data);
        store.load(null);
        return store;
    }

    @Test
    void deployedFunctionsSurviveARestart() throws IOException {
        FunctionStore first = open();
        first.deploy("hello", pkg("hello", "def handle(e, c):\n    return 'v1'\n"));
        first.deploy("hello", pkg("hello", "def handle(e, c):\n    return 'v2'\n"));

        FunctionStore restarted = open();
        var stored = restarted.get("hello").orElseThrow();
        assertEquals(2, stored.deployment().version());
        assertTrue(Files.readString(stored.deployment().codeDir().resolve("handler.py")).contains("v2"));
        assertEquals(1, restarted.list().size());
    }

    @Test
    void aVersionMovedToTheNextNumberTakesCurrentAlongAndSurvivesARestart() throws IOException {
        FunctionStore store = open();
        store.deploy("twin", pkg("twin", "def handle(e, c):\n    return 'one'\n"));
        store.deploy("twin", pkg("twin", "def handle(e, c):\n    return 'mine'\n"));
        String sha = store.packageSha256("twin", 2);
        assertEquals(3, store.renumber("twin", 2));
        assertTrue(store.version("twin", 2).isEmpty(), "the number is free for the other gateway's package");
        assertEquals(sha, store.packageSha256("twin", 3), "the package moved with it");
        var current = store.get("twin").orElseThrow();
        assertEquals(3, current.deployment().version());
        assertTrue(Files.readString(current.deployment().codeDir().resolve("handler.py")).contains("mine"));
        assertEquals(3, open().get("twin").orElseThrow().deployment().version());
        // A version that is not current moves alone.
        assertEquals(4, store.renumber("twin", 1));
        assertEquals(3, store.get("twin").orElseThrow().deployment().version());
    }

    @Test
    void aDeployInterruptedByACrashLeavesNothing() throws IOException {
        open();
        // What a crash mid-upload leaves: a half-unpacked staging directory.
        Path staging = data.resolve("tmp/3f2a/code");
        Files.createDirectories(staging);
        Files.writeString(staging.resolve("func.yaml"), "name: half\nruntime: python\n");
        FunctionStore restarted = open();
        assertTrue(restarted.get("half").isEmpty());
        try (var left = Files.list(data.resolve("tmp"))) {
            assertEquals(0, left.count(), "staging leftovers are removed at start");
        }
    }

    @Test
    void aRefusedPackageStoresNothing() throws IOException {
        FunctionStore store = open();
        assertThrows(ApiException.class, () -> store.deploy("nofy", tar(Map.of("handler.py", "x"))));
        assertThrows(ApiException.class, () -> store.deploy("Bad_Name", pkg("Bad_Name", "x")));
        assertTrue(store.get("nofy").isEmpty());
        assertFalse(Files.exists(data.resolve("functions/nofy")));
        try (var left = Files.list(data.resolve("tmp"))) {
            assertEquals(0, left.count());
        }
    }

    @Test
    void aRollbackMovesTheCurrentPointerAndSurvivesARestart() throws IOException {
        FunctionStore store = open();
        store.deploy("flip", pkg("flip", "def handle(e, c):\n    return 'v1'\n"));
        store.deploy("flip", pkg("flip", "def handle(e, c):\n    return 'v2'\n"));
        var back = store.rollback("flip", 1);
        assertEquals(1, back.deployment().version());
        assertTrue(Files.readString(back.deployment().codeDir().resolve("handler.py")).contains("v1"));
        assertEquals(java.util.List.of(1L, 2L), store.versions("flip").stream().map(FunctionStore.StoredVersion::version).toList());
        assertTrue(store.versions("flip").get(0).current());
        assertFalse(store.versions("flip").get(1).current());

        FunctionStore restarted = open();
        assertEquals(1, restarted.get("flip").orElseThrow().deployment().version());
        // The next deploy is a new number, never a reuse of the version rolled away from.
        assertEquals(3, restarted.deploy("flip", pkg("flip", "def handle(e, c):\n    return 'v3'\n")).deployment().version());
    }

    @Test
    void aRollbackToAnUnknownVersionOrFunctionIs404AndChangesNothing() throws IOException {
        FunctionStore store = open();
        store.deploy("kept", pkg("kept", "def handle(e, c):\n    return 'v1'\n"));
        assertEquals(404, assertThrows(ApiException.class, () -> store.rollback("kept", 7)).status());
        assertEquals(404, assertThrows(ApiException.class, () -> store.rollback("nobody", 1)).status());
        assertEquals(1, open().get("kept").orElseThrow().deployment().version());
    }

    @Test
    void deleteRemovesEveryVersion() throws IOException {
        FunctionStore store = open();
        store.deploy("gone", pkg("gone", "def handle(e, c):\n    return 'x'\n"));
        assertTrue(store.delete("gone"));
        assertFalse(store.delete("gone"));
        assertFalse(Files.exists(data.resolve("functions/gone")));
        assertTrue(open().get("gone").isEmpty());
    }

    static ByteArrayInputStream pkg(String name, String handler) throws IOException {
        return tar(Map.of("func.yaml", "name: " + name + "\nruntime: python\n", "handler.py", handler));
    }

    static ByteArrayInputStream tar(Map<String, String> files) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(bytes))) {
            for (var e : files.entrySet()) {
                byte[] b = e.getValue().getBytes(StandardCharsets.UTF_8);
                TarArchiveEntry t = new TarArchiveEntry(e.getKey());
                t.setSize(b.length);
                tar.putArchiveEntry(t);
                tar.write(b);
                tar.closeArchiveEntry();
            }
        }
        return new ByteArrayInputStream(bytes.toByteArray());
    }

    static SkiffConfig config(Path data) {
        return new SkiffConfig() {
            @Override public Path dataDir() { return data; }
            @Override public Path stateDir() { return data.resolve("state"); }
            @Override public String cgroupName() { return "skiff-unit"; }
            @Override public int sandboxUid() { return 65534; }
            @Override public int sandboxGid() { return 65534; }
            @Override public Duration startTimeout() { return Duration.ofSeconds(30); }
            @Override public Duration queueTimeout() { return Duration.ofSeconds(10); }
            @Override public long maxBodyBytes() { return 6 << 20; }
            @Override public long maxPackageExpandedBytes() { return 256L << 20; }
            @Override public int maxPackageEntries() { return 10_000; }
            @Override public Duration stopGrace() { return Duration.ofSeconds(10); }
            @Override public Duration shutdownDrain() { return Duration.ofSeconds(30); }
            @Override public Duration reapInterval() { return Duration.ofSeconds(1); }
            @Override public boolean autoscalerEnabled() { return true; }
            @Override public Role role() { return Role.ALL; }
            @Override public java.util.Optional<String> advertisedUrl() { return java.util.Optional.empty(); }
            @Override public java.util.Optional<io.quarkus.runtime.configuration.MemorySize> replicaMemory() { return java.util.Optional.empty(); }
            @Override public Duration invokerTimeout() { return Duration.ofSeconds(3); }
            @Override public Auth auth() { return () -> data.resolve("credentials"); }
        };
    }
}
