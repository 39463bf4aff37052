package dev.skiff.sandbox;

import static dev.skiff.sandbox.TestImages.layer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Applying layers to a directory: whiteouts, replacement rules, and refusing what would escape. No root needed. */
class LayerUnpackerTest {
    @TempDir
    Path tmp;

    Path root;
    Path outside;

    @BeforeEach
    void dirs() throws IOException {
        root = Files.createDirectory(tmp.resolve("rootfs"));
        outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret"), "host file\n");
    }

    private LayerUnpacker apply(TestImages.Layer... layers) throws IOException {
        LayerUnpacker u = new LayerUnpacker(root, false);
        int i = 1;
        for (TestImages.Layer l : layers) u.apply(new ByteArrayInputStream(l.tar()), "layer " + i++);
        u.finish();
        return u;
    }

    private Set<String> tree() throws IOException {
        try (var walk = Files.walk(root)) {
            return walk.filter(p -> !p.equals(root)).map(p -> root.relativize(p).toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private void assertOutsideUntouched() throws IOException {
        try (var list = Files.list(outside)) {
            assertEquals(List.of("secret"), list.map(p -> p.getFileName().toString()).toList());
        }
        assertEquals("host file\n", Files.readString(outside.resolve("secret")));
    }

    // --- whiteouts -------------------------------------------------------------------------------

    @Test
    void whiteoutDeletesAFileOfALowerLayer() throws IOException {
        apply(layer().dir("etc").file("etc/motd", "hi").file("etc/keep", "k"),
                layer().whiteout("etc/motd"));
        assertEquals(Set.of("etc", "etc/keep"), tree());
    }

    @Test
    void whiteoutDeletesAWholeDirectoryOfALowerLayer() throws IOException {
        apply(layer().dir("opt").dir("opt/app").file("opt/app/x", "x").dir("opt/app/sub").file("opt/app/sub/y", "y"),
                layer().whiteout("opt/app"));
        assertEquals(Set.of("opt"), tree());
    }

    @Test
    void whiteoutOfSomethingThatIsNotThereIsHarmless() throws IOException {
        apply(layer().dir("etc"), layer().whiteout("etc/nothing").whiteout("missing/dir/file"));
        assertEquals(Set.of("etc"), tree());
    }

    @Test
    void whiteoutDoesNotHideWhatItsOwnLayerAdds() throws IOException {
        // the same layer may list the new file before the whiteout: tar order is not a rule
        apply(layer().dir("etc").file("etc/motd", "old"),
                layer().file("etc/motd", "new").whiteout("etc/motd"));
        assertEquals("new", Files.readString(root.resolve("etc/motd")));
    }

    @Test
    void opaqueDirectoryHidesEverythingTheLowerLayersHadInIt() throws IOException {
        apply(layer().dir("data").file("data/a", "a").file("data/b", "b").dir("data/sub").file("data/sub/c", "c").file("top", "t"),
                layer().dir("data").opaque("data").file("data/new", "n"));
        assertEquals(Set.of("data", "data/new", "top"), tree());
    }

    @Test
    void opaqueKeepsWhatItsLayerAddedBeforeTheMarkerEvenInsideMergedSubdirectories() throws IOException {
        apply(layer().dir("data").dir("data/sub").file("data/sub/old", "o").file("data/old", "o"),
                layer().dir("data").file("data/first", "1").dir("data/sub").file("data/sub/fresh", "f").opaque("data").file("data/last", "l"));
        assertEquals(Set.of("data", "data/first", "data/last", "data/sub", "data/sub/fresh"), tree());
    }

    @Test
    void opaqueAtTheRootOfALayerHidesTheWholeLowerImage() throws IOException {
        apply(layer().dir("etc").file("etc/a", "a").file("b", "b"),
                layer().opaque("").file("c", "c"));
        assertEquals(Set.of("c"), tree());
    }

    @Test
    void whiteoutsAreNeverMaterialized() throws IOException {
        apply(layer().dir("d").file("d/x", "x"), layer().whiteout("d/x").opaque("d").file("d/.wh..wh.plnk", ""));
        assertEquals(Set.of("d"), tree());
    }

    // --- replacement -------------------------------------------------------------------------------

    @Test
    void anUpperFileReplacesALowerDirectoryAndViceVersa() throws IOException {
        apply(layer().dir("x").file("x/inner", "i").file("y", "file"),
                layer().file("x", "now a file").dir("y").file("y/inner", "now a dir"));
        assertEquals("now a file", Files.readString(root.resolve("x")));
        assertEquals("now a dir", Files.readString(root.resolve("y/inner")));
    }

    @Test
    void twoDirectoriesMergeAndTheUpperModeWins() throws IOException {
        apply(layer().dir("d", 0700).file("d/lower", "l"), layer().dir("d", 0750).file("d/upper", "u"));
        assertEquals(Set.of("d", "d/lower", "d/upper"), tree());
        assertEquals("rwxr-x---", perms(root.resolve("d")));
    }

    @Test
    void modesAreKeptButSetuidAndSetgidAreDropped() throws IOException {
        apply(layer().dir("bin").rawModeFile("bin/su", "x", 0104755).rawModeFile("bin/sg", "x", 0102755).file("bin/plain", new byte[0], 0640)
                .dir("shared", 01777));
        assertEquals(0755, mode(root.resolve("bin/su")));
        assertEquals(0755, mode(root.resolve("bin/sg")));
        assertEquals(0640, mode(root.resolve("bin/plain")));
        assertEquals(01777, mode(root.resolve("shared")), "the sticky bit is kept");
    }

    @Test
    void deviceNodesAndFifosAreSkipped() throws IOException {
        LayerUnpacker u = apply(layer().dir("dev").charDevice("dev/null", 1, 3).charDevice("dev/mem", 1, 1).fifo("dev/pipe").file("ok", "ok"));
        assertEquals(Set.of("dev", "ok"), tree());
        assertEquals(3, u.skipped());
    }

    @Test
    void parentsMissingFromTheTarAreCreated() throws IOException {
        apply(layer().file("usr/local/bin/tool", "t"));
        assertTrue(Files.isDirectory(root.resolve("usr/local/bin")));
    }

    @Test
    void longNamesSurvive() throws IOException {
        String deep = String.join("/", java.util.Collections.nCopies(12, "a-rather-long-directory-name")) + "/file";
        apply(layer().file(deep, "deep"));
        assertEquals("deep", Files.readString(root.resolve(deep)));
    }

    // --- symlinks and hard links -------------------------------------------------------------------

    @Test
    void symlinksAreCreatedAsTheyAreEvenWhenTheyPointOutside() throws IOException {
        apply(layer().dir("bin").file("bin/busybox", "bb").symlink("bin/sh", "busybox").symlink("abs", outside.toString()));
        assertEquals("busybox", Files.readSymbolicLink(root.resolve("bin/sh")).toString());
        assertEquals(outside.toString(), Files.readSymbolicLink(root.resolve("abs")).toString());
    }

    @Test
    void aFileEntryReplacesALowerSymlinkInsteadOfWritingThroughIt() throws IOException {
        apply(layer().symlink("evil", outside.resolve("secret").toString()), layer().file("evil", "replaced"));
        assertFalse(Files.isSymbolicLink(root.resolve("evil")));
        assertEquals("replaced", Files.readString(root.resolve("evil")));
        assertOutsideUntouched();
    }

    @Test
    void anEntryThroughASymlinkIsRefused() throws IOException {
        ImageException e = assertThrows(ImageException.class,
                () -> apply(layer().symlink("etc", outside.toString()), layer().file("etc/passwd", "pwned")));
        assertTrue(e.getMessage().contains("symlink /etc"), e.getMessage());
        assertTrue(e.getMessage().contains("etc/passwd"), e.getMessage());
        assertOutsideUntouched();
    }

    @Test
    void anEntryThroughASymlinkOfTheSameLayerIsRefused() {
        ImageException e = assertThrows(ImageException.class,
                () -> apply(layer().symlink("d", outside.toString()).dir("d/sub")));
        assertTrue(e.getMessage().contains("symlink"), e.getMessage());
    }

    @Test
    void aWhiteoutThroughASymlinkIsRefusedAndDeletesNothing() throws IOException {
        assertThrows(ImageException.class, () -> apply(layer().symlink("link", outside.toString()), layer().whiteout("link/secret")));
        assertOutsideUntouched();
    }

    @Test
    void anOpaqueMarkerOnASymlinkHidesNothingOutside() throws IOException {
        apply(layer().symlink("link", outside.toString()), layer().opaque("link"));
        assertOutsideUntouched();
    }

    @Test
    void aWhiteoutOfASymlinkDeletesTheLinkNotItsTarget() throws IOException {
        apply(layer().symlink("link", outside.toString()), layer().whiteout("link"));
        assertEquals(Set.of(), tree());
        assertOutsideUntouched();
    }

    @Test
    void aHardLinkInsideTheImageSharesTheFile() throws IOException {
        apply(layer().dir("bin").file("bin/a", "same"), layer().hardlink("bin/b", "bin/a").hardlink("c", "./bin/a"));
        Object inode = Files.getAttribute(root.resolve("bin/a"), "unix:ino");
        assertEquals(inode, Files.getAttribute(root.resolve("bin/b"), "unix:ino"));
        assertEquals(inode, Files.getAttribute(root.resolve("c"), "unix:ino"));
        assertEquals(3, Files.getAttribute(root.resolve("bin/a"), "unix:nlink"));
    }

    @Test
    void aHardLinkToASymlinkCopiesTheLink() throws IOException {
        apply(layer().symlink("s", outside.toString()).hardlink("t", "s"));
        assertEquals(outside.toString(), Files.readSymbolicLink(root.resolve("t")).toString());
    }

    @Test
    void aHardLinkOutOfTheImageIsRefused() throws IOException {
        for (String target : List.of("../outside/secret", "../../" + outside.getFileName() + "/secret", outside.resolve("secret").toString())) {
            ImageException e = assertThrows(ImageException.class, () -> apply(layer().file("x", "x").hardlink("h", target)), target);
            assertTrue(e.getMessage().contains("h'"), e.getMessage());
        }
        assertFalse(Files.exists(root.resolve("h"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(1, Files.getAttribute(outside.resolve("secret"), "unix:nlink"), "no link to the host file was made");
        assertOutsideUntouched();
    }

    @Test
    void aHardLinkThroughASymlinkIsRefused() throws IOException {
        ImageException e = assertThrows(ImageException.class, () -> apply(layer().symlink("out", outside.toString()).hardlink("h", "out/secret")));
        assertTrue(e.getMessage().contains("symlink"), e.getMessage());
        assertEquals(1, Files.getAttribute(outside.resolve("secret"), "unix:nlink"));
    }

    @Test
    void aHardLinkToSomethingMissingOrADirectoryIsRefused() {
        ImageException missing = assertThrows(ImageException.class, () -> apply(layer().hardlink("h", "nowhere")));
        assertTrue(missing.getMessage().contains("does not have"), missing.getMessage());
        ImageException dir = assertThrows(ImageException.class, () -> apply(layer().dir("d").hardlink("h", "d")));
        assertTrue(dir.getMessage().contains("not a file"), dir.getMessage());
    }

    // --- names that escape -----------------------------------------------------------------------

    @Test
    void namesWithDotDotAreRefused() throws IOException {
        for (String name : List.of("../escape", "a/../../escape", "./../escape", "a/b/../../../escape")) {
            ImageException e = assertThrows(ImageException.class, () -> apply(layer().file(name, "x")), name);
            assertTrue(e.getMessage().contains(".."), e.getMessage());
        }
        assertFalse(Files.exists(tmp.resolve("escape")));
    }

    @Test
    void absoluteNamesAreRefused() {
        ImageException e = assertThrows(ImageException.class, () -> apply(layer().file("/etc/passwd", "x")));
        assertTrue(e.getMessage().contains("absolute"), e.getMessage());
    }

    @Test
    void whiteoutNamesThatClimbAreRefused() {
        assertThrows(ImageException.class, () -> apply(layer().dir("d"), layer().file("d/.wh..", new byte[0], 0644)));
        assertTrue(Files.isDirectory(root.resolve("d")));
    }

    // --- broken tars -------------------------------------------------------------------------------

    @Test
    void aTruncatedLayerIsRefused() {
        byte[] full = layer().file("big", new byte[100_000], 0644).file("after", "x").tar();
        byte[] cut = Arrays.copyOf(full, 50_000);
        LayerUnpacker u = new LayerUnpacker(root, false);
        ImageException e = assertThrows(ImageException.class, () -> u.apply(new ByteArrayInputStream(cut), "layer 1"));
        assertTrue(e.getMessage().contains("layer 1") && e.getMessage().contains("not a complete tar"), e.getMessage());
    }

    @Test
    void garbageIsRefused() {
        byte[] junk = new byte[4096];
        Arrays.fill(junk, (byte) 'z');
        LayerUnpacker u = new LayerUnpacker(root, false);
        assertThrows(ImageException.class, () -> u.apply(new ByteArrayInputStream(junk), "layer 1"));
    }

    // --- helpers ---------------------------------------------------------------------------------

    private static String perms(Path p) throws IOException {
        return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }
}
