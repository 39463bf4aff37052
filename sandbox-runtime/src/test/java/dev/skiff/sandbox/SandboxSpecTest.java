package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What a sandbox spec refuses and what it fills in. */
class SandboxSpecTest {
    private static SandboxSpec.Builder valid(String id) {
        return SandboxSpec.builder(id).command("/usr/bin/python3", "-m", "fdk");
    }

    @Test
    void refusesToRunAsRootUser() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> valid("fn").user(0, 1000).build());
        assertTrue(e.getMessage().contains("root"), e.getMessage());
    }

    @Test
    void refusesToRunWithRootGroup() {
        assertThrows(IllegalArgumentException.class, () -> valid("fn").user(1000, 0).build());
    }

    @Test
    void refusesNegativeIds() {
        assertThrows(IllegalArgumentException.class, () -> valid("fn").user(-1, 1000).build());
        assertThrows(IllegalArgumentException.class, () -> valid("fn").user(1000, -1).build());
    }

    @Test
    void refusesARelativeProgram() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SandboxSpec.builder("fn").command("python3", "-c", "pass").build());
        assertTrue(e.getMessage().contains("python3"), e.getMessage());
    }

    @Test
    void refusesAnEmptyCommand() {
        assertThrows(IllegalArgumentException.class, () -> SandboxSpec.builder("fn").build());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Hello", "fnA", "a/b", "..", ".", ".hidden", "-x", "_x", "a b", "a\nb", "é"})
    void refusesBadIds(String id) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> valid(id).build());
        assertTrue(e.getMessage().contains("bad sandbox id"), e.getMessage());
    }

    @Test
    void refusesIdsLongerThan128Characters() {
        assertThrows(IllegalArgumentException.class, () -> valid("a".repeat(129)).build());
        assertEquals(128, valid("a".repeat(128)).build().id().length());
    }

    @Test
    void refusesANullId() {
        assertThrows(NullPointerException.class, () -> valid(null).build());
    }

    @Test
    void acceptsIdsMadeOfLowercaseDigitsDotsDashesUnderscores() {
        assertEquals("hello-v2.r_1", valid("hello-v2.r_1").build().id());
        assertEquals("0abc", valid("0abc").build().id());
    }

    @Test
    void hostnameDefaultsToTheIdWhenUnsetOrEmpty() {
        assertEquals("fn-1", valid("fn-1").build().hostname());
        assertEquals("fn-1", valid("fn-1").hostname("").build().hostname());
        assertEquals("box", valid("fn-1").hostname("box").build().hostname());
    }

    @Test
    void defaultsToNobodyInTheRootDirectoryWithDefaultLimits() {
        SandboxSpec s = valid("fn").build();
        assertEquals(65534, s.uid());
        assertEquals(65534, s.gid());
        assertEquals("/", s.cwd());
        assertEquals(Limits.DEFAULT, s.limits());
        SandboxSpec direct = new SandboxSpec("fn", List.of(), null, 1000, 1000, List.of("/bin/true"), java.util.Map.of(), null, Limits.DEFAULT);
        assertEquals("/", direct.cwd());
        assertEquals(0, s.fileSizeLimit(), "no file size limit unless asked");
        assertEquals(0, direct.fileSizeLimit());
    }

    @Test
    void keepsAFileSizeLimitAndRefusesANegativeOne() {
        assertEquals(1 << 20, valid("fn").fileSizeLimit(1 << 20).build().fileSizeLimit());
        assertThrows(IllegalArgumentException.class, () -> valid("fn").fileSizeLimit(-1).build());
    }

    @Test
    void refusesMissingLimits() {
        assertThrows(NullPointerException.class, () -> valid("fn").limits(null).build());
    }

    @Test
    void laterChangesToTheCallersListsDoNotReachTheSpec() {
        List<String> argv = new ArrayList<>(List.of("/bin/echo", "hi"));
        List<RootfsEntry> rootfs = new ArrayList<>();
        SandboxSpec s = new SandboxSpec("fn", rootfs, null, 1000, 1000, argv, java.util.Map.of(), "/", Limits.DEFAULT);
        argv.set(0, "relative");
        rootfs.add(new RootfsEntry.Tmpfs("/tmp", 1 << 20, "1777"));
        assertEquals(List.of("/bin/echo", "hi"), s.argv());
        assertEquals(List.of(), s.rootfs());
        assertThrows(UnsupportedOperationException.class, () -> s.argv().add("x"));
    }

    @Test
    void anImageRootMustBeTheFirstEntryAndComeOnce() {
        var image = new RootfsEntry.ImageRoot(java.nio.file.Path.of("/var/cache/skiff/sha256/x/rootfs"));
        var tmp = new RootfsEntry.Tmpfs("/tmp", 1 << 20, "1777");
        assertEquals(image, valid("fn").add(image).add(tmp).build().imageRoot().orElseThrow());
        assertTrue(valid("fn").add(tmp).build().imageRoot().isEmpty());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> valid("fn").add(tmp).add(image).build());
        assertTrue(e.getMessage().contains("first"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> valid("fn").add(image).add(image).build());
    }

    @Test
    void filesAndSymlinksCannotBeWrittenIntoAnImageRoot() {
        var image = new RootfsEntry.ImageRoot(java.nio.file.Path.of("/var/cache/skiff/sha256/x/rootfs"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> valid("fn").add(image).add(new RootfsEntry.File("/etc/hosts", "127.0.0.1 localhost\n")).build());
        assertTrue(e.getMessage().contains("/etc/hosts") && e.getMessage().contains("read-only image root"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> valid("fn").add(image).add(new RootfsEntry.Symlink("/lib", "usr/lib")).build());
    }

    @Test
    void anImageRootIsAnAbsoluteHostPath() {
        assertThrows(IllegalArgumentException.class, () -> new RootfsEntry.ImageRoot(java.nio.file.Path.of("relative/rootfs")));
        assertThrows(IllegalArgumentException.class, () -> new RootfsEntry.ImageRoot(null));
    }
}
