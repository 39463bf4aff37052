package dev.skiff.sandbox;

import static dev.skiff.sandbox.Linux.MS_BIND;
import static dev.skiff.sandbox.Linux.MS_NODEV;
import static dev.skiff.sandbox.Linux.MS_NOEXEC;
import static dev.skiff.sandbox.Linux.MS_NOSUID;
import static dev.skiff.sandbox.Linux.MS_PRIVATE;
import static dev.skiff.sandbox.Linux.MS_RDONLY;
import static dev.skiff.sandbox.Linux.MS_REC;
import static dev.skiff.sandbox.Linux.MS_REMOUNT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.sandbox.RecordingSyscalls.Call;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The mount plan RootfsBuilder produces, checked against a recording Syscalls (no root, no namespaces). */
class RootfsBuilderTest {
    /** Never touched on disk: the recording double performs no file operations. */
    private static final Path ROOT = Path.of("/var/lib/skiff-test/sandboxes/fn1/root");

    @TempDir
    Path host;

    private static RecordingSyscalls build(SandboxSpec spec) throws IOException {
        RecordingSyscalls sys = new RecordingSyscalls();
        RootfsBuilder.build(ROOT, spec, sys);
        return sys;
    }

    private static SandboxSpec.Builder spec() {
        return SandboxSpec.builder("fn1").command("/bin/true");
    }

    private static int indexOf(List<Call> calls, Call wanted) {
        int i = calls.indexOf(wanted);
        assertTrue(i >= 0, "missing call " + wanted);
        return i;
    }

    @Test
    void firstCallMakesTheWholeMountTreeRecursivelyPrivate() throws IOException {
        RecordingSyscalls sys = build(spec().add(new RootfsEntry.Tmpfs("/tmp", 1 << 20, "1777")).build());
        Call first = sys.calls().get(0);
        assertEquals(new Call("mount", null, Path.of("/"), null, MS_REC | MS_PRIVATE, null), first, sys.transcript());
        long privateMounts = sys.mounts().stream().filter(c -> c.has(MS_PRIVATE)).count();
        assertEquals(1, privateMounts, "only the propagation change carries MS_PRIVATE:\n" + sys.transcript());
    }

    @Test
    void rootIsASmallTmpfsAndTheLastCallRemountsItReadOnly() throws IOException {
        RecordingSyscalls sys = build(spec()
                .add(new RootfsEntry.Tmpfs("/tmp", 8 << 20, "1777"))
                .add(new RootfsEntry.File("/etc/hosts", "127.0.0.1 localhost\n"))
                .add(new RootfsEntry.Symlink("/lib", "usr/lib"))
                .build());
        List<Call> calls = sys.calls();
        assertEquals(new Call("mount", "tmpfs", ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755"), calls.get(1),
                sys.transcript());

        Call last = calls.get(calls.size() - 1);
        assertTrue(last.isMount(), "the last call must be the read-only remount:\n" + sys.transcript());
        assertEquals(ROOT, last.target());
        assertTrue(last.has(MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV), "flags were " + RecordingSyscalls.flagNames(last.flags()));
        assertFalse(last.has(MS_BIND), "the root is a tmpfs, not a bind mount: remount without MS_BIND");
        long rootRemounts = sys.mounts().stream().filter(c -> c.target().equals(ROOT) && c.has(MS_REMOUNT)).count();
        assertEquals(1, rootRemounts, sys.transcript());
    }

    @Test
    void devHoldsExactlyTheStandardDevicesBoundFromTheHost() throws IOException {
        RecordingSyscalls sys = build(spec().build());
        Path dev = ROOT.resolve("dev");

        Call devTmpfs = sys.mounts().stream().filter(c -> c.target().equals(dev)).findFirst().orElseThrow();
        assertEquals("tmpfs", devTmpfs.fstype());
        assertTrue(devTmpfs.has(MS_NOSUID | MS_NOEXEC), "a device tmpfs must be nosuid,noexec: " + devTmpfs);

        Map<String, String> bound = sys.mounts().stream()
                .filter(c -> c.has(MS_BIND) && c.source() != null && c.target().startsWith(dev))
                .collect(Collectors.toMap(c -> c.target().getFileName().toString(), Call::source, (a, b) -> a + "," + b, TreeMap::new));
        Map<String, String> expected = new TreeMap<>();
        for (String d : RootfsBuilder.DEVICES) expected.put(d, "/dev/" + d);
        assertEquals(expected, bound, sys.transcript());
        assertEquals(List.of("null", "zero", "full", "random", "urandom", "tty"), RootfsBuilder.DEVICES);

        for (String d : RootfsBuilder.DEVICES) {
            Path node = dev.resolve(d);
            int created = indexOf(sys.calls(), new Call("createFile", null, node, null, 0, null));
            int mounted = indexOf(sys.calls(), new Call("mount", "/dev/" + d, node, null, MS_BIND, null));
            assertTrue(created < mounted, "the mount point " + node + " must exist before the bind");
            assertTrue(indexOf(sys.calls(), devTmpfs) < mounted, "devices go onto the /dev tmpfs, not under it");
        }
        // The standard fd links, pointing into the sandbox's own /proc.
        assertTrue(sys.calls().contains(new Call("symlink", "/proc/self/fd", dev.resolve("fd"), null, 0, null)));
        assertTrue(sys.calls().contains(new Call("symlink", "/proc/self/fd/1", dev.resolve("stdout"), null, 0, null)));
    }

    @Test
    void nothingFromTheHostIsBoundExceptDevicesAndTheSpecsBinds() throws IOException {
        Path usr = Files.createDirectory(host.resolve("usr"));
        RecordingSyscalls sys = build(spec().add(RootfsEntry.readOnly(usr, "/usr")).build());
        List<String> sources = sys.mounts().stream().filter(c -> c.has(MS_BIND) && c.source() != null)
                .map(Call::source).sorted().toList();
        List<String> expected = new java.util.ArrayList<>(RootfsBuilder.DEVICES.stream().map(d -> "/dev/" + d).toList());
        expected.add(usr.toString());
        expected.sort(null);
        assertEquals(expected, sources, sys.transcript());
    }

    @Test
    void readOnlyBindIsBoundRecursivelyThenRemountedReadOnlyNosuidNodev() throws IOException {
        Path usr = Files.createDirectory(host.resolve("usr"));
        RecordingSyscalls sys = build(spec().add(RootfsEntry.readOnly(usr, "/usr")).build());
        Path target = ROOT.resolve("usr");
        List<Call> calls = sys.calls();

        int mkdir = indexOf(calls, new Call("mkdirs", null, target, null, 0, null));
        int bind = indexOf(calls, new Call("mount", usr.toString(), target, null, MS_BIND | MS_REC, null));
        assertTrue(mkdir < bind, sys.transcript());
        Call remount = calls.get(bind + 1);
        assertEquals(new Call("mount", null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, null), remount,
                sys.transcript());
    }

    @Test
    void writableBindIsRemountedWithoutReadOnlyButStillNosuidNodev() throws IOException {
        Path data = Files.createDirectory(host.resolve("data"));
        RecordingSyscalls sys = build(spec().add(RootfsEntry.writable(data, "/data")).build());
        Path target = ROOT.resolve("data");
        List<Call> calls = sys.calls();

        int bind = indexOf(calls, new Call("mount", data.toString(), target, null, MS_BIND | MS_REC, null));
        Call remount = calls.get(bind + 1);
        assertEquals(target, remount.target(), sys.transcript());
        assertTrue(remount.has(MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV), RecordingSyscalls.flagNames(remount.flags()));
        assertFalse(remount.has(MS_RDONLY), "a writable bind must not be read-only: " + remount);
    }

    @Test
    void bindOfASingleFileCreatesAFileMountPointNotADirectory() throws IOException {
        Path resolv = Files.writeString(host.resolve("resolv.conf"), "nameserver 127.0.0.1\n");
        RecordingSyscalls sys = build(spec().add(RootfsEntry.readOnly(resolv, "/etc/resolv.conf")).build());
        Path target = ROOT.resolve("etc/resolv.conf");
        int parent = indexOf(sys.calls(), new Call("mkdirs", null, ROOT.resolve("etc"), null, 0, null));
        int file = indexOf(sys.calls(), new Call("createFile", null, target, null, 0, null));
        int bind = indexOf(sys.calls(), new Call("mount", resolv.toString(), target, null, MS_BIND | MS_REC, null));
        assertTrue(parent < file && file < bind, sys.transcript());
        assertFalse(sys.calls().contains(new Call("mkdirs", null, target, null, 0, null)), "a file mount point is not a directory");
    }

    @Test
    void tmpfsEntriesAreMountedWithTheirSizeAndMode() throws IOException {
        RecordingSyscalls sys = build(spec()
                .add(new RootfsEntry.Tmpfs("/tmp", 8L << 20, "1777"))
                .add(new RootfsEntry.Tmpfs("/var/run", 65536, "755"))
                .build());
        Call tmp = new Call("mount", "tmpfs", ROOT.resolve("tmp"), "tmpfs", MS_NOSUID | MS_NODEV, "size=8388608,mode=1777");
        Call run = new Call("mount", "tmpfs", ROOT.resolve("var/run"), "tmpfs", MS_NOSUID | MS_NODEV, "size=65536,mode=755");
        assertTrue(indexOf(sys.calls(), new Call("mkdirs", null, ROOT.resolve("tmp"), null, 0, null)) < indexOf(sys.calls(), tmp));
        assertTrue(indexOf(sys.calls(), new Call("mkdirs", null, ROOT.resolve("var/run"), null, 0, null)) < indexOf(sys.calls(), run));
    }

    @Test
    void symlinkAndFileEntriesAreCreatedInsideTheRoot() throws IOException {
        RecordingSyscalls sys = build(spec()
                .add(new RootfsEntry.Symlink("/lib", "usr/lib"))
                .add(new RootfsEntry.File("/etc/passwd", "fn:x:65534:65534::/tmp:/sbin/nologin\n"))
                .build());
        assertTrue(sys.calls().contains(new Call("symlink", "usr/lib", ROOT.resolve("lib"), null, 0, null)), sys.transcript());
        int mkdir = indexOf(sys.calls(), new Call("mkdirs", null, ROOT.resolve("etc"), null, 0, null));
        int write = indexOf(sys.calls(),
                new Call("writeFile", null, ROOT.resolve("etc/passwd"), null, 0, "fn:x:65534:65534::/tmp:/sbin/nologin\n"));
        assertTrue(mkdir < write);
    }

    @Test
    void anEntryThatClimbsOutOfTheRootIsRefusedBeforeAnythingIsPlacedThere() {
        SandboxSpec spec = spec().add(new RootfsEntry.Tmpfs("/../../etc", 1 << 20, "755")).build();
        RecordingSyscalls sys = new RecordingSyscalls();
        assertThrows(IllegalArgumentException.class, () -> RootfsBuilder.build(ROOT, spec, sys));
        for (Call c : sys.calls()) {
            if (c.target() != null && !c.target().equals(Path.of("/"))) {
                assertTrue(c.target().startsWith(ROOT), "touched a path outside the root: " + c);
            }
        }
        assertFalse(sys.calls().stream().anyMatch(c -> c.isMount() && c.has(MS_REMOUNT) && c.target().equals(ROOT)),
                "a refused plan must not be finished");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/..", "/../etc", "/a/../../etc", "/./../x", "/usr/../../..", "/../root-sibling", "//etc", "/."})
    void underRefusesPathsThatEscapeOrAliasTheRoot(String sandboxPath) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RootfsBuilder.under(ROOT, sandboxPath));
        assertTrue(e.getMessage().contains(sandboxPath), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"etc", "", "../etc"})
    void underRefusesRelativePaths(String sandboxPath) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RootfsBuilder.under(ROOT, sandboxPath));
        assertTrue(e.getMessage().startsWith("not absolute"), e.getMessage());
    }

    @Test
    void underResolvesPathsThatStayInside() {
        assertEquals(ROOT, RootfsBuilder.under(ROOT, "/"));
        assertEquals(ROOT.resolve("usr/lib"), RootfsBuilder.under(ROOT, "/usr/lib"));
        assertEquals(ROOT.resolve("usr"), RootfsBuilder.under(ROOT, "/etc/../usr"));
        assertEquals(ROOT.resolve("tmp"), RootfsBuilder.under(ROOT, "/tmp/"));
    }

    // --- an image as the root ----------------------------------------------------------------------

    /** An unpacked image as ImageStore leaves it: /proc, /dev, /tmp, /etc, plus what a test adds. */
    private Path image(String... dirs) throws IOException {
        Path rootfs = Files.createDirectories(host.resolve("image/rootfs"));
        for (String d : List.of("proc", "dev", "tmp", "etc")) Files.createDirectories(rootfs.resolve(d));
        for (String d : dirs) Files.createDirectories(rootfs.resolve(d));
        return rootfs;
    }

    @Test
    void imageRootIsBoundAndMadeReadOnlyRightAfterThePropagationChange() throws IOException {
        Path rootfs = image();
        RecordingSyscalls sys = build(spec().add(new RootfsEntry.ImageRoot(rootfs)).add(new RootfsEntry.Tmpfs("/tmp", 1 << 20, "1777")).build());
        List<Call> calls = sys.calls();
        assertEquals(new Call("mount", null, Path.of("/"), null, MS_REC | MS_PRIVATE, null), calls.get(0), sys.transcript());
        assertEquals(new Call("mount", rootfs.toString(), ROOT, null, MS_BIND, null), calls.get(1),
                "the image itself, not recursively (nothing mounted under the cache comes along):\n" + sys.transcript());
        assertEquals(new Call("mount", null, ROOT, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, null), calls.get(2),
                sys.transcript());
        assertFalse(sys.mounts().stream().anyMatch(c -> "tmpfs".equals(c.fstype()) && c.target().equals(ROOT)),
                "no tmpfs root under an image:\n" + sys.transcript());
        long rootMounts = sys.mounts().stream().filter(c -> c.target().equals(ROOT)).count();
        assertEquals(2, rootMounts, "the root is never remounted writable, nor again at the end:\n" + sys.transcript());
    }

    @Test
    void imageRootStillGetsItsOwnDevTmpfsAndTheOtherEntriesOnTop() throws IOException {
        Path rootfs = image("code", "run");
        Path code = Files.createDirectory(host.resolve("code"));
        Path sockets = Files.createDirectory(host.resolve("sockets"));
        RecordingSyscalls sys = build(spec()
                .add(new RootfsEntry.ImageRoot(rootfs))
                .add(new RootfsEntry.Tmpfs("/tmp", 8 << 20, "1777"))
                .add(new RootfsEntry.Tmpfs("/run", 1 << 20, "755"))
                .add(RootfsEntry.readOnly(code, "/code"))
                .add(RootfsEntry.writable(sockets, "/run/fn")) // under the /run tmpfs: need not be in the image
                .build());
        List<Call> calls = sys.calls();
        int readOnly = indexOf(calls, new Call("mount", null, ROOT, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, null));
        int devTmpfs = indexOf(calls, new Call("mount", "tmpfs", ROOT.resolve("dev"), "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755"));
        int devNull = indexOf(calls, new Call("mount", "/dev/null", ROOT.resolve("dev/null"), null, MS_BIND, null));
        int tmp = indexOf(calls, new Call("mount", "tmpfs", ROOT.resolve("tmp"), "tmpfs", MS_NOSUID | MS_NODEV, "size=8388608,mode=1777"));
        int codeBind = indexOf(calls, new Call("mount", code.toString(), ROOT.resolve("code"), null, MS_BIND | MS_REC, null));
        int socketBind = indexOf(calls, new Call("mount", sockets.toString(), ROOT.resolve("run/fn"), null, MS_BIND | MS_REC, null));
        assertTrue(readOnly < devTmpfs && devTmpfs < devNull && devNull < tmp && tmp < codeBind && codeBind < socketBind, sys.transcript());
        assertEquals(new Call("mount", null, ROOT.resolve("code"), null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, null),
                calls.get(codeBind + 1));
        assertFalse(sys.calls().stream().anyMatch(c -> c.op().equals("writeFile")), "nothing is written into an image root");
    }

    @Test
    void aMountPointMissingFromTheImageIsRefusedBeforeAnythingIsMounted() throws IOException {
        Path rootfs = image();
        Path code = Files.createDirectory(host.resolve("code"));
        SandboxSpec spec = spec().add(new RootfsEntry.ImageRoot(rootfs)).add(RootfsEntry.readOnly(code, "/code")).build();
        RecordingSyscalls sys = new RecordingSyscalls();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RootfsBuilder.build(ROOT, spec, sys));
        assertTrue(e.getMessage().contains("mount point /code does not exist in the image"), e.getMessage());
        assertEquals(List.of(), sys.calls(), "a refused plan mounts nothing");
    }

    @Test
    void aMountPointThroughASymlinkInTheImageIsRefused() throws IOException {
        Path rootfs = image();
        Files.createSymbolicLink(rootfs.resolve("code"), Path.of("/etc"));
        Files.createSymbolicLink(rootfs.resolve("opt"), Path.of("tmp"));
        Path code = Files.createDirectory(host.resolve("code"));
        for (String target : List.of("/code", "/opt/x")) {
            SandboxSpec spec = spec().add(new RootfsEntry.ImageRoot(rootfs)).add(RootfsEntry.readOnly(code, target)).build();
            RecordingSyscalls sys = new RecordingSyscalls();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RootfsBuilder.build(ROOT, spec, sys));
            assertTrue(e.getMessage().contains("symlink"), e.getMessage());
            assertEquals(List.of(), sys.calls());
        }
    }

    @Test
    void aMountPointOfTheWrongKindIsRefused() throws IOException {
        Path rootfs = image();
        Files.writeString(rootfs.resolve("etc/resolv.conf"), "");
        Path dir = Files.createDirectory(host.resolve("dir"));
        Path file = Files.writeString(host.resolve("file"), "x");
        SandboxSpec dirOnFile = spec().add(new RootfsEntry.ImageRoot(rootfs)).add(RootfsEntry.readOnly(dir, "/etc/resolv.conf")).build();
        assertThrows(IllegalArgumentException.class, () -> RootfsBuilder.build(ROOT, dirOnFile, new RecordingSyscalls()));
        SandboxSpec fileOnDir = spec().add(new RootfsEntry.ImageRoot(rootfs)).add(RootfsEntry.readOnly(file, "/etc")).build();
        assertThrows(IllegalArgumentException.class, () -> RootfsBuilder.build(ROOT, fileOnDir, new RecordingSyscalls()));
        SandboxSpec fileOnFile = spec().add(new RootfsEntry.ImageRoot(rootfs)).add(RootfsEntry.readOnly(file, "/etc/resolv.conf")).build();
        RecordingSyscalls sys = build(fileOnFile);
        assertTrue(sys.calls().contains(new Call("mount", file.toString(), ROOT.resolve("etc/resolv.conf"), null, MS_BIND | MS_REC, null)));
    }

    @Test
    void anImageWithoutProcOrDevIsRefused() throws IOException {
        Path rootfs = Files.createDirectories(host.resolve("bare"));
        SandboxSpec spec = spec().add(new RootfsEntry.ImageRoot(rootfs)).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RootfsBuilder.build(ROOT, spec, new RecordingSyscalls()));
        assertTrue(e.getMessage().contains("/dev"), e.getMessage());
    }
}
