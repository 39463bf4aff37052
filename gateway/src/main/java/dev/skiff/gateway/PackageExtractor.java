package dev.skiff.gateway;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Unpacks a function package (a gzip'ed tar) into a fresh directory, refusing anything that
 * could land outside it or surprise the sandbox: absolute names, "..", links that point out,
 * hard links, device files and FIFOs, and archives that expand past the limits (zip bombs).
 * Files come out world-readable and owned by the platform; the function gets them read-only.
 */
public final class PackageExtractor {
    public record Limits(long maxExpandedBytes, int maxEntries) {}

    private final Limits limits;

    public PackageExtractor(Limits limits) {
        this.limits = limits;
    }

    public void extract(InputStream gzipTar, Path into) throws IOException {
        long total = 0;
        int entries = 0;
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(new BufferedInputStream(gzipTar)))) {
            for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                if (++entries > limits.maxEntries()) {
                    throw refuse("package_too_many_entries", "the package has more than " + limits.maxEntries() + " entries");
                }
                String name = e.getName();
                Path target = safeTarget(into, name);
                refuseThroughSymlinks(into, target, name);
                // Order matters: commons-compress calls every non-directory "isFile", devices included.
                if (e.isDirectory()) {
                    Files.createDirectories(target);
                } else if (e.isSymbolicLink()) {
                    checkLink(into, target, name, e.getLinkName());
                    Files.createDirectories(target.getParent());
                    Files.createSymbolicLink(target, Path.of(e.getLinkName()));
                } else if (e.isLink()) {
                    throw refuse("package_hardlink", "entry '" + name + "' is a hard link; packages may not contain hard links");
                } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO() || !e.isFile()) {
                    throw refuse("package_special_file", "entry '" + name + "' is a device file, FIFO or other special file; only files, directories and symlinks are allowed");
                } else {
                    Files.createDirectories(target.getParent());
                    long written = copyLimited(tar, target, limits.maxExpandedBytes() - total, name);
                    total += written;
                    boolean executable = (e.getMode() & 0111) != 0;
                    Files.setPosixFilePermissions(target, PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
                }
            }
        } catch (ApiException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // Anything else that goes wrong while reading the archive means the upload is broken
            // (not gzip, not tar, truncated, duplicate entries): the client's fault, so a 400.
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw refuse("package_malformed", "the package is not a valid gzip'ed tar: " + why);
        }
        if (entries == 0) throw refuse("package_empty", "the package is empty");
    }

    /**
     * Refuses an entry whose path passes through a symlink (or replaces one). Links are checked
     * one at a time, so following them while writing later entries could chain them out of the
     * folder (a -> ., then a/b -> .. creates b -> .., then b/x lands outside).
     */
    static void refuseThroughSymlinks(Path root, Path target, String name) {
        for (Path p = target; p != null && !p.equals(root); p = p.getParent()) {
            if (Files.isSymbolicLink(p)) {
                throw refuse("package_bad_path", "entry '" + name + "' goes through or replaces the symlink '"
                        + root.relativize(p) + "'; entries may not be written through symlinks");
            }
        }
    }

    static Path safeTarget(Path root, String name) {
        if (name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.indexOf('\0') >= 0) {
            throw refuse("package_bad_path", "entry '" + name + "' has an absolute or malformed path; entries must be relative");
        }
        for (String seg : name.split("/")) {
            if (seg.equals("..")) throw refuse("package_bad_path", "entry '" + name + "' contains '..'; entries must stay inside the function folder");
        }
        Path target = root.resolve(name).normalize();
        if (!target.startsWith(root)) throw refuse("package_bad_path", "entry '" + name + "' would land outside the function folder");
        return target;
    }

    /** A symlink may only point at something inside the package, by a relative path. */
    static void checkLink(Path root, Path link, String name, String linkTarget) {
        if (linkTarget.startsWith("/")) {
            throw refuse("package_symlink_out", "symlink '" + name + "' points to the absolute path '" + linkTarget + "'; symlinks must stay inside the function folder");
        }
        Path resolved = link.getParent().resolve(linkTarget).normalize();
        if (!resolved.startsWith(root)) {
            throw refuse("package_symlink_out", "symlink '" + name + "' points outside the function folder ('" + linkTarget + "')");
        }
    }

    private long copyLimited(InputStream in, Path target, long allowance, String name) throws IOException {
        byte[] buf = new byte[64 * 1024];
        long written = 0;
        try (OutputStream out = Files.newOutputStream(target)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                written += n;
                if (written > allowance) {
                    throw refuse("package_too_large", "the package expands past the limit at '" + name + "': unpacked, a package may hold at most "
                            + limits.maxExpandedBytes() + " bytes (skiff.max-package-expanded-bytes); leave large files out of the folder");
                }
                out.write(buf, 0, n);
            }
        }
        return written;
    }

    static ApiException refuse(String error, String message) {
        return new ApiException(400, error, message);
    }
}
