package dev.skiff.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Packs a function folder into a gzip-compressed tar archive, the upload format of {@code fn deploy}.
 *
 * <ul>
 *   <li>Entry names are relative to the folder, separated by {@code /}; directories end with {@code /}
 *       and come before their contents; siblings are sorted by name, so the same tree gives the same bytes.</li>
 *   <li>Regular files carry their permission bits ({@code 0777} part); modes are written like commons-compress
 *       does by default, i.e. with the file type bits ({@code 0100644}, {@code 040755}, {@code 0120777}),
 *       so readers should use {@code getMode() & 0777}. Without POSIX attributes files get 0644 and
 *       directories 0755.</li>
 *   <li>Symbolic links become symlink entries whose target is stored unchanged (never followed);
 *       the server decides whether a link is acceptable.</li>
 *   <li>Skipped: {@code .git}, {@code __pycache__}, {@code .DS_Store} (any depth) and {@code *.pyc} files.</li>
 *   <li>Long names use POSIX (PAX) headers; owner is 0/0 with empty user and group names.</li>
 * </ul>
 * Other file types (sockets, FIFOs, devices) are refused with an {@link IOException}.
 */
public final class Packager {
    private static final Set<String> SKIPPED = Set.of(".git", "__pycache__", ".DS_Store");

    private Packager() {
    }

    /** Packs {@code dir} (which must be a directory) and returns the {@code .tar.gz} bytes. */
    public static byte[] pack(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + " is not a directory");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(bytes);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(gzip, StandardCharsets.UTF_8.name())) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            tar.setAddPaxHeadersForNonAsciiNames(true);
            addChildren(tar, dir, "");
            tar.finish();
        }
        return bytes.toByteArray();
    }

    /** Whether a file or directory of this name is left out of the archive. */
    static boolean isSkipped(String fileName, boolean directory) {
        return SKIPPED.contains(fileName) || (!directory && fileName.endsWith(".pyc"));
    }

    private static void addChildren(TarArchiveOutputStream tar, Path dir, String prefix) throws IOException {
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            stream.forEach(children::add);
        }
        children.sort((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
        for (Path child : children) {
            String fileName = child.getFileName().toString();
            BasicFileAttributes attrs =
                    Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (isSkipped(fileName, attrs.isDirectory())) {
                continue;
            }
            String name = prefix + fileName;
            long mtime = attrs.lastModifiedTime().toMillis() / 1000 * 1000;
            if (attrs.isSymbolicLink()) {
                TarArchiveEntry entry = entry(name, TarConstants.LF_SYMLINK, 0120000 | 0777, mtime);
                entry.setLinkName(Files.readSymbolicLink(child).toString());
                tar.putArchiveEntry(entry);
                tar.closeArchiveEntry();
            } else if (attrs.isDirectory()) {
                tar.putArchiveEntry(entry(name + "/", TarConstants.LF_DIR, 040000 | permissions(child, 0755), mtime));
                tar.closeArchiveEntry();
                addChildren(tar, child, name + "/");
            } else if (attrs.isRegularFile()) {
                byte[] content = Files.readAllBytes(child);
                TarArchiveEntry entry = entry(name, TarConstants.LF_NORMAL, 0100000 | permissions(child, 0644), mtime);
                entry.setSize(content.length);
                tar.putArchiveEntry(entry);
                tar.write(content);
                tar.closeArchiveEntry();
            } else {
                throw new IOException("cannot pack " + child + ": not a regular file, directory or symlink");
            }
        }
    }

    private static TarArchiveEntry entry(String name, byte type, int mode, long mtime) {
        TarArchiveEntry entry = new TarArchiveEntry(name, type);
        entry.setMode(mode);
        entry.setModTime(mtime);
        entry.setUserId(0);
        entry.setGroupId(0);
        entry.setUserName("");
        entry.setGroupName("");
        return entry;
    }

    private static int permissions(Path path, int fallback) throws IOException {
        PosixFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException e) {
            return fallback;
        }
        int mode = 0;
        for (PosixFilePermission permission : attrs.permissions()) {
            mode |= 0400 >> permission.ordinal();
        }
        return mode;
    }
}
