package dev.skiff.gateway;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Unpacking untrusted function packages: what comes out, and everything that is refused. */
class PackageExtractorTest {
    private static final PackageExtractor.Limits ROOMY = new PackageExtractor.Limits(16L << 20, 1000);

    @TempDir
    Path tmp;

    /** Where packages are unpacked; anything appearing in {@code tmp} beside it escaped. */
    private Path into;

    @BeforeEach
    void target() throws IOException {
        into = Files.createDirectory(tmp.resolve("code"));
    }

    /** Builds a gzip'ed tar in memory, entry by entry, names exactly as given. */
    static final class Pkg {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final TarArchiveOutputStream tar;

        Pkg() {
            try {
                tar = new TarArchiveOutputStream(new GZIPOutputStream(bytes));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        }

        Pkg file(String name, int mode, byte[] content) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name, true);
            e.setMode(mode);
            e.setSize(content.length);
            tar.putArchiveEntry(e);
            tar.write(content);
            tar.closeArchiveEntry();
            return this;
        }

        Pkg file(String name, String content) throws IOException {
            return file(name, 0100644, content.getBytes(UTF_8));
        }

        Pkg dir(String name) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", true);
            e.setMode(040755);
            tar.putArchiveEntry(e);
            tar.closeArchiveEntry();
            return this;
        }

        Pkg link(String name, byte type, String linkName) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name, type, true);
            if (linkName != null) e.setLinkName(linkName);
            tar.putArchiveEntry(e);
            tar.closeArchiveEntry();
            return this;
        }

        Pkg symlink(String name, String target) throws IOException {
            return link(name, TarConstants.LF_SYMLINK, target);
        }

        byte[] bytes() throws IOException {
            tar.close();
            return bytes.toByteArray();
        }

        InputStream stream() throws IOException {
            return new ByteArrayInputStream(bytes());
        }
    }

    private void extract(InputStream in) throws IOException {
        new PackageExtractor(ROOMY).extract(in, into);
    }

    private ApiException refused(PackageExtractor.Limits limits, InputStream in, String error) {
        ApiException e = assertThrows(ApiException.class, () -> new PackageExtractor(limits).extract(in, into));
        assertEquals(400, e.status(), e.getMessage());
        assertEquals(error, e.error(), e.getMessage());
        return e;
    }

    private ApiException refused(Pkg pkg, String error) throws IOException {
        return refused(ROOMY, pkg.stream(), error);
    }

    private static String perms(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    private void assertNothingEscaped() throws IOException {
        try (Stream<Path> beside = Files.list(tmp)) {
            assertEquals(java.util.List.of(into), beside.toList(), "something was written beside the target directory");
        }
    }

    private static long bytesOnDisk(Path dir) throws IOException {
        AtomicLong total = new AtomicLong();
        try (Stream<Path> all = Files.walk(dir)) {
            all.filter(Files::isRegularFile).forEach(p -> total.addAndGet(p.toFile().length()));
        }
        return total.get();
    }

    // --- what comes out ---

    @Test
    void aNormalPackageExtractsFilesAndNestedDirectories() throws IOException {
        extract(new Pkg()
                .file("func.yaml", "name: hello\nruntime: python\n")
                .dir("src")
                .file("src/handler.py", "def handle(req):\n    return 'hi'\n")
                .file("lib/deep/er/util.py", "X = 1\n")
                .stream());
        assertEquals("name: hello\nruntime: python\n", Files.readString(into.resolve("func.yaml")));
        assertEquals("def handle(req):\n    return 'hi'\n", Files.readString(into.resolve("src/handler.py")));
        assertEquals("X = 1\n", Files.readString(into.resolve("lib/deep/er/util.py")), "parents are created without dir entries");
        assertTrue(Files.isDirectory(into.resolve("src")));
        assertNothingEscaped();
    }

    @Test
    void filesComeOutWorldReadableKeepingOnlyTheExecBit() throws IOException {
        extract(new Pkg()
                .file("plain.txt", 0100644, "a".getBytes(UTF_8))
                .file("private.key", 0100600, "k".getBytes(UTF_8))
                .file("run.sh", 0100755, "#!/bin/sh\n".getBytes(UTF_8))
                .file("owner-exec", 0100700, "x".getBytes(UTF_8))
                .file("suid", 0104755, "s".getBytes(UTF_8))
                .file("sgid-writable", 0102777, "g".getBytes(UTF_8))
                .stream());
        assertEquals("rw-r--r--", perms(into.resolve("plain.txt")));
        assertEquals("rw-r--r--", perms(into.resolve("private.key")));
        assertEquals("rwxr-xr-x", perms(into.resolve("run.sh")));
        assertEquals("rwxr-xr-x", perms(into.resolve("owner-exec")));
        assertEquals("rwxr-xr-x", perms(into.resolve("suid")), "setuid is dropped");
        assertEquals("rwxr-xr-x", perms(into.resolve("sgid-writable")), "setgid and world-write are dropped");
        assertFalse(Files.getPosixFilePermissions(into.resolve("suid")).isEmpty());
    }

    @Test
    void aRelativeSymlinkThatStaysInsideIsCreatedAsASymlink() throws IOException {
        extract(new Pkg()
                .file("lib/util.py", "X = 1\n")
                .symlink("src/util.py", "../lib/util.py")
                .symlink("current", "lib")
                .stream());
        Path link = into.resolve("src/util.py");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(Path.of("../lib/util.py"), Files.readSymbolicLink(link));
        assertEquals("X = 1\n", Files.readString(link));
        assertEquals(Path.of("lib"), Files.readSymbolicLink(into.resolve("current")));
    }

    @Test
    void anEmptyFileIsFine() throws IOException {
        extract(new Pkg().file("__init__.py", "").stream());
        assertEquals(0, Files.size(into.resolve("__init__.py")));
    }

    // --- names ---

    @ParameterizedTest
    @ValueSource(strings = {"/etc/cron.d/evil", "/func.yaml"})
    void absoluteNamesAreRefused(String name) throws IOException {
        ApiException e = refused(new Pkg().file(name, "x"), "package_bad_path");
        assertTrue(e.getMessage().contains("'" + name + "'"), e.getMessage());
        assertNothingEscaped();
    }

    @ParameterizedTest
    @ValueSource(strings = {"../evil", "a/../../evil", "a/b/../../../evil", "src/..", "..", "./../evil"})
    void dotDotSegmentsAnywhereAreRefused(String name) throws IOException {
        ApiException e = refused(new Pkg().file("ok.txt", "fine").file(name, "x"), "package_bad_path");
        assertTrue(e.getMessage().contains("'" + name + "'"), e.getMessage());
        assertNothingEscaped();
    }

    @Test
    void dotDotInsideADirectoryEntryIsRefusedToo() throws IOException {
        refused(new Pkg().dir("../outside"), "package_bad_path");
        assertFalse(Files.exists(tmp.resolve("outside")));
    }

    @Test
    void backslashesAreRefused() throws IOException {
        ApiException e = refused(new Pkg().file("..\\..\\evil", "x"), "package_bad_path");
        assertTrue(e.getMessage().contains("evil"), e.getMessage());
    }

    @Test
    void namesThatOnlyContainDotsInsideSegmentsAreFine() throws IOException {
        extract(new Pkg().file("a..b/..c/d..", "ok").file("./x/./y", "ok").stream());
        assertEquals("ok", Files.readString(into.resolve("a..b/..c/d..")));
        assertEquals("ok", Files.readString(into.resolve("x/y")));
    }

    // --- links and special files ---

    @Test
    void aSymlinkToAnAbsolutePathIsRefused() throws IOException {
        ApiException e = refused(new Pkg().symlink("passwd", "/etc/passwd"), "package_symlink_out");
        assertTrue(e.getMessage().contains("'passwd'") && e.getMessage().contains("/etc/passwd"), e.getMessage());
        assertFalse(Files.exists(into.resolve("passwd"), LinkOption.NOFOLLOW_LINKS));
    }

    @ParameterizedTest
    @ValueSource(strings = {"..", "../code-sibling", "sub/../../..", "../../../../etc/shadow"})
    void aRelativeSymlinkThatClimbsOutIsRefused(String linkTarget) throws IOException {
        ApiException e = refused(new Pkg().dir("sub").symlink("sub/link", "../" + linkTarget), "package_symlink_out");
        assertTrue(e.getMessage().contains("'sub/link'"), e.getMessage());
        assertFalse(Files.exists(into.resolve("sub/link"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aHardLinkIsRefused() throws IOException {
        ApiException e = refused(new Pkg().file("a.txt", "a").link("b.txt", TarConstants.LF_LINK, "a.txt"), "package_hardlink");
        assertTrue(e.getMessage().contains("'b.txt'"), e.getMessage());
    }

    @Test
    void aHardLinkToAHostFileIsRefused() throws IOException {
        refused(new Pkg().link("shadow", TarConstants.LF_LINK, "/etc/shadow"), "package_hardlink");
        assertFalse(Files.exists(into.resolve("shadow")));
    }

    @ParameterizedTest
    @ValueSource(bytes = {TarConstants.LF_CHR, TarConstants.LF_BLK, TarConstants.LF_FIFO})
    void specialFileEntriesNeverComeOutAsDevicesOrFifos(byte type) throws IOException {
        try {
            extract(new Pkg().link("special", type, null).stream());
        } catch (ApiException refusedIsFine) {
            assertEquals("package_special_file", refusedIsFine.error());
        }
        Path p = into.resolve("special");
        assertTrue(!Files.exists(p, LinkOption.NOFOLLOW_LINKS) || Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS),
                "a package created a special file");
    }

    @ParameterizedTest
    @ValueSource(bytes = {TarConstants.LF_CHR, TarConstants.LF_BLK, TarConstants.LF_FIFO})
    void devicesAndFifosAreRefused(byte type) throws IOException {
        ApiException e = refused(new Pkg().link("special", type, null), "package_special_file");
        assertTrue(e.getMessage().contains("'special'"), e.getMessage());
    }

    @Test
    void symlinksCannotBeChainedToWriteOutside() throws IOException {
        Pkg pkg = new Pkg()
                .symlink("a", ".")
                .symlink("a/b", "..")
                .file("b/escaped", "owned");
        try {
            extract(pkg.stream());
        } catch (ApiException refusedIsFine) {
            // refusing the package is one correct outcome
        }
        assertFalse(Files.exists(tmp.resolve("escaped")), "a package wrote " + tmp.resolve("escaped"));
    }

    // --- limits ---

    @Test
    void moreEntriesThanTheLimitAreRefused() throws IOException {
        Pkg pkg = new Pkg();
        for (int i = 0; i < 11; i++) pkg.file("f" + i, "x");
        ApiException e = refused(new PackageExtractor.Limits(1 << 20, 10), pkg.stream(), "package_too_many_entries");
        assertTrue(e.getMessage().contains("10"), e.getMessage());
    }

    @Test
    void exactlyTheEntryLimitIsAccepted() throws IOException {
        Pkg pkg = new Pkg();
        for (int i = 0; i < 10; i++) pkg.file("f" + i, "x");
        new PackageExtractor(new PackageExtractor.Limits(1 << 20, 10)).extract(pkg.stream(), into);
        try (Stream<Path> files = Files.list(into)) {
            assertEquals(10, files.count());
        }
    }

    @Test
    void aZipBombIsStoppedAtTheLimit() throws IOException {
        long limit = 1L << 20;
        byte[] bomb = new Pkg().file("zeros.bin", 0100644, new byte[32 << 20]).bytes();
        assertTrue(bomb.length < 100_000, "32 MiB of zeros should compress to a few KB, got " + bomb.length);
        ApiException e = refused(new PackageExtractor.Limits(limit, 100), new ByteArrayInputStream(bomb), "package_too_large");
        assertTrue(e.getMessage().contains("'zeros.bin'"), e.getMessage());
        long written = bytesOnDisk(into);
        assertTrue(written <= limit + 64 * 1024, "wrote " + written + " bytes for a " + limit + " byte limit");
    }

    @Test
    void theLimitCountsAllFilesTogether() throws IOException {
        byte[] chunk = new byte[400_000];
        Arrays.fill(chunk, (byte) 'x');
        Pkg pkg = new Pkg().file("a", 0100644, chunk).file("b", 0100644, chunk).file("c", 0100644, chunk);
        ApiException e = refused(new PackageExtractor.Limits(1_000_000, 100), pkg.stream(), "package_too_large");
        assertTrue(e.getMessage().contains("'c'"), "the third file crosses the limit: " + e.getMessage());
        assertTrue(bytesOnDisk(into) <= 1_000_000 + 64 * 1024);
    }

    @Test
    void exactlyTheSizeLimitIsAccepted() throws IOException {
        new PackageExtractor(new PackageExtractor.Limits(1000, 10)).extract(
                new Pkg().file("a", 0100644, new byte[600]).file("b", 0100644, new byte[400]).stream(), into);
        assertEquals(1000, bytesOnDisk(into));
    }

    // --- not a package at all ---

    @Test
    void inputThatIsNotGzipIsRefused() {
        ApiException e = refused(ROOMY, new ByteArrayInputStream("PK\u0003\u0004 this is a zip, not a tarball".getBytes(UTF_8)),
                "package_malformed");
        assertTrue(e.getMessage().contains("not a valid gzip'ed tar"), e.getMessage());
    }

    @Test
    void aGzipWithACorruptChecksumIsRefused() throws IOException {
        byte[] pkg = new Pkg().file("func.yaml", "name: hello\n").bytes();
        pkg[pkg.length - 5] ^= 0x55; // inside the CRC32 of the gzip trailer
        refused(ROOMY, new ByteArrayInputStream(pkg), "package_malformed");
        assertNothingEscaped();
    }

    @Test
    void gzipOfSomethingThatIsNotATarIsRefused() throws IOException {
        byte[] garbage = new byte[4096];
        new java.util.Random(42).nextBytes(garbage);
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(garbage);
        }
        refused(ROOMY, new ByteArrayInputStream(gz.toByteArray()), "package_malformed");
    }

    @Test
    void anEmptyOrTruncatedUploadIsRefusedAsMalformed() throws IOException {
        byte[] whole = new Pkg().file("big.bin", 0100644, randomBytes(20_000)).bytes();
        refused(ROOMY, new ByteArrayInputStream(new byte[0]), "package_malformed");
        refused(ROOMY, new ByteArrayInputStream(new byte[] {0x1f}), "package_malformed");
        refused(ROOMY, new ByteArrayInputStream(Arrays.copyOf(whole, whole.length / 2)), "package_malformed");

        ByteArrayOutputStream rawTar = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(rawTar)) {
            TarArchiveEntry e = new TarArchiveEntry("f");
            e.setSize(5000);
            t.putArchiveEntry(e);
            t.write(new byte[5000]);
            t.closeArchiveEntry();
        }
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(Arrays.copyOf(rawTar.toByteArray(), 2000));
        }
        refused(ROOMY, new ByteArrayInputStream(gz.toByteArray()), "package_malformed");
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new java.util.Random(7).nextBytes(b);
        return b;
    }

    @Test
    void anArchiveWithoutEntriesIsRefusedAsEmpty() throws IOException {
        ApiException e = refused(new Pkg(), "package_empty");
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }
}
