package dev.skiff.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PackagerTest {

    record Unpacked(TarArchiveEntry entry, byte[] content) {
        String text() {
            return new String(content, StandardCharsets.UTF_8);
        }

        int permissions() {
            return entry.getMode() & 0777;
        }
    }

    static Map<String, Unpacked> unpack(byte[] archive) throws IOException {
        Map<String, Unpacked> entries = new LinkedHashMap<>();
        try (TarArchiveInputStream tar =
                     new TarArchiveInputStream(new GZIPInputStream(new ByteArrayInputStream(archive)))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                entries.put(entry.getName(), new Unpacked(entry, tar.readAllBytes()));
            }
        }
        return entries;
    }

    private static void write(Path file, String content, String permissions) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
    }

    @Test
    void roundTripKeepsFilesDirectoriesModesAndSymlinks(@TempDir Path dir) throws IOException {
        write(dir.resolve("func.yaml"), "name: hello\n", "rw-r--r--");
        write(dir.resolve("handler.py"), "def handle(e, c):\n    return 'hi'\n", "rw-r-----");
        write(dir.resolve("bin/run.sh"), "#!/bin/sh\necho hi\n", "rwxr-xr-x");
        write(dir.resolve("lib/sub/deep.txt"), "deep", "rw-------");
        Files.createDirectories(dir.resolve("empty"));
        Files.setPosixFilePermissions(dir.resolve("lib"), PosixFilePermissions.fromString("rwxr-x---"));
        Files.createSymbolicLink(dir.resolve("link.py"), Path.of("handler.py"));
        Files.createSymbolicLink(dir.resolve("lib/escape"), Path.of("../../outside/secret"));
        String longName = "x".repeat(120) + "/" + "y".repeat(120) + ".txt";
        write(dir.resolve(longName), "long", "rw-r--r--");
        // skipped
        write(dir.resolve(".git/config"), "[core]", "rw-r--r--");
        write(dir.resolve("__pycache__/handler.cpython-312.pyc"), "pyc", "rw-r--r--");
        write(dir.resolve("lib/__pycache__/x.pyc"), "pyc", "rw-r--r--");
        write(dir.resolve("stray.pyc"), "pyc", "rw-r--r--");
        write(dir.resolve(".DS_Store"), "junk", "rw-r--r--");
        write(dir.resolve("lib/.DS_Store"), "junk", "rw-r--r--");

        Map<String, Unpacked> entries = unpack(Packager.pack(dir));

        assertEquals("name: hello\n", entries.get("func.yaml").text());
        assertTrue(entries.get("func.yaml").entry().isFile());
        assertEquals(0644, entries.get("func.yaml").permissions());
        assertEquals(0640, entries.get("handler.py").permissions());
        assertEquals(0755, entries.get("bin/run.sh").permissions());
        assertEquals("#!/bin/sh\necho hi\n", entries.get("bin/run.sh").text());
        assertEquals(0600, entries.get("lib/sub/deep.txt").permissions());
        assertEquals("deep", entries.get("lib/sub/deep.txt").text());
        assertEquals("long", entries.get(longName).text());

        for (String directory : List.of("bin/", "lib/", "lib/sub/", "empty/", "x".repeat(120) + "/")) {
            assertTrue(entries.containsKey(directory), directory + " in " + entries.keySet());
            assertTrue(entries.get(directory).entry().isDirectory(), directory);
        }
        assertEquals(0750, entries.get("lib/").permissions());

        Unpacked link = entries.get("link.py");
        assertTrue(link.entry().isSymbolicLink());
        assertEquals("handler.py", link.entry().getLinkName());
        assertEquals(0, link.content().length);
        Unpacked escape = entries.get("lib/escape");
        assertTrue(escape.entry().isSymbolicLink());
        assertEquals("../../outside/secret", escape.entry().getLinkName(), "link targets are stored unchanged");

        for (String name : entries.keySet()) {
            assertFalse(name.startsWith("/") || name.startsWith("./") || name.contains("\\"), name);
            assertFalse(name.contains(".git") || name.contains("__pycache__") || name.endsWith(".pyc")
                    || name.endsWith(".DS_Store"), "should be skipped: " + name);
            assertEquals(0, entries.get(name).entry().getLongUserId());
            assertEquals("", entries.get(name).entry().getUserName());
        }

        List<String> names = new ArrayList<>(entries.keySet());
        assertTrue(names.indexOf("lib/") < names.indexOf("lib/sub/"), "directories come before their contents");
        assertTrue(names.indexOf("lib/sub/") < names.indexOf("lib/sub/deep.txt"));
    }

    @Test
    void packingIsDeterministic(@TempDir Path dir) throws IOException {
        write(dir.resolve("func.yaml"), "name: a\n", "rw-r--r--");
        write(dir.resolve("b/c.txt"), "c", "rw-r--r--");
        assertArrayEquals(Packager.pack(dir), Packager.pack(dir));
    }

    @Test
    void emptyFolderGivesEmptyArchive(@TempDir Path dir) throws IOException {
        assertTrue(unpack(Packager.pack(dir)).isEmpty());
    }

    @Test
    void refusesNonDirectory(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertThrows(IOException.class, () -> Packager.pack(file));
        assertThrows(IOException.class, () -> Packager.pack(dir.resolve("missing")));
    }
}
