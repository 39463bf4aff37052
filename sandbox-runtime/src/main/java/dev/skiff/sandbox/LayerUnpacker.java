package dev.skiff.sandbox;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Applies image layers, bottom first, to a directory that only this unpacker writes to, with
 * the OCI changeset rules: an entry replaces what a lower layer had at its path (two directories
 * merge); {@code .wh.NAME} deletes NAME of the lower layers; {@code .wh..wh..opq} in a directory
 * hides everything the lower layers had in it. Whiteouts never hide what their own layer adds,
 * whatever the order of the tar.
 *
 * <p>Safety: a name that is absolute or has '..' is refused, and so is any entry whose path goes
 * through a symlink: no symlink is ever followed while writing (the layer's symlinks are only
 * ever resolved later, inside the sandbox). A hard link must point at a file already unpacked.
 * Device nodes and FIFOs are skipped (a sandbox has its own /dev); setuid and setgid bits are
 * dropped. Directories stay writable while layers are applied and get their own mode and mtime
 * in {@link #finish()}.
 */
final class LayerUnpacker {
    private static final int SETID = 06000;
    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";

    private record DirMeta(int mode, int uid, int gid, FileTime mtime) {}

    private final Path root;
    private final boolean chown;
    /** Directories the layers describe, by relative path ("" is the root); applied in {@link #finish()}. */
    private final TreeMap<String, DirMeta> dirs = new TreeMap<>();
    /** What the current layer has put in place: its whiteouts do not apply to these. */
    private Set<String> written = new HashSet<>();
    private String layerName = "layer";
    private int skipped;

    /**
     * @param root  an existing, empty directory
     * @param chown give files the owners the layers say (needs root; otherwise they belong to the caller)
     */
    LayerUnpacker(Path root, boolean chown) {
        this.root = root.toAbsolutePath().normalize();
        this.chown = chown;
    }

    /** Entries skipped so far: device nodes, FIFOs, and unknown kinds. */
    int skipped() {
        return skipped;
    }

    /**
     * Applies one layer (an uncompressed tar). Reads {@code layer} to its very end, so a stream
     * that checks a digest there gets to check it.
     */
    void apply(InputStream layer, String what) throws IOException {
        written = new HashSet<>();
        layerName = what;
        TarArchiveInputStream tar = new TarArchiveInputStream(layer);
        TarArchiveEntry e;
        while ((e = nextEntry(tar)) != null) {
            try {
                entry(tar, e);
            } catch (BrokenLayer broken) {
                throw broken;
            } catch (ImageException refused) {
                throw new ImageException(what + ": entry '" + e.getName() + "': " + refused.getMessage(), refused);
            }
        }
        byte[] buf = new byte[8192];
        while (readLayer(layer, buf) >= 0) {
            // the end of the blob: only its digest check is left
        }
    }

    private TarArchiveEntry nextEntry(TarArchiveInputStream tar) throws IOException {
        try {
            return tar.getNextEntry();
        } catch (IOException e) {
            throw broken(e);
        }
    }

    /** A read of the layer: a failure here is the layer's (truncated, corrupt), unlike one while writing. */
    private int readLayer(InputStream in, byte[] buf) throws IOException {
        try {
            return in.read(buf);
        } catch (IOException e) {
            throw broken(e);
        }
    }

    /** A layer that cannot be read to its end: truncated, not a tar, or (from the stream) failing its digest. */
    private static final class BrokenLayer extends ImageException {
        BrokenLayer(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private BrokenLayer broken(IOException e) {
        if (e instanceof BrokenLayer b) return b;
        String message = e instanceof ImageException ? e.getMessage() : layerName + " is not a complete tar archive: " + e.getMessage();
        return new BrokenLayer(message, e);
    }

    private void entry(TarArchiveInputStream tar, TarArchiveEntry e) throws IOException {
        String rel = ImageFiles.clean(e.getName());
        int slash = rel.lastIndexOf('/');
        String parent = slash < 0 ? "" : rel.substring(0, slash);
        String name = rel.substring(slash + 1);

        if (name.startsWith(WHITEOUT)) {
            if (name.equals(OPAQUE)) {
                Path dir = existing(parent);
                if (dir != null && isDirectory(dir)) hideChildren(dir, parent);
            } else if (!name.startsWith(WHITEOUT + WHITEOUT)) { // other .wh..wh.* are aufs bookkeeping
                String hidden = name.substring(WHITEOUT.length());
                if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) throw new ImageException("bad whiteout");
                String target = join(parent, hidden);
                Path p = existing(target);
                if (p != null) hideLower(p, target);
            }
            return;
        }
        if (rel.isEmpty()) {
            if (!e.isDirectory()) throw new ImageException("the root of the image must be a directory");
            dirs.put("", meta(e));
            return;
        }
        if (e.isDirectory()) {
            Path p = parentDir(rel).resolve(name);
            BasicFileAttributes a = attributes(p);
            if (a == null || !a.isDirectory()) {
                if (a != null) remove(p, rel);
                createDirectory(p);
            }
            dirs.put(rel, meta(e));
        } else if (e.isSymbolicLink()) {
            if (e.getLinkName().isEmpty()) throw new ImageException("symlink with an empty target");
            Path p = parentDir(rel).resolve(name);
            remove(p, rel);
            Files.createSymbolicLink(p, Path.of(e.getLinkName()));
            owner(p, e.getLongUserId(), e.getLongGroupId());
        } else if (e.isLink()) {
            hardLink(rel, e.getLinkName());
        } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
            skipped++;
            return;
        } else if (e.isFile()) {
            Path p = parentDir(rel).resolve(name);
            remove(p, rel);
            try (OutputStream out = Files.newOutputStream(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS)) {
                byte[] buf = new byte[65536];
                int n;
                while ((n = readLayer(tar, buf)) >= 0) out.write(buf, 0, n);
            }
            owner(p, e.getLongUserId(), e.getLongGroupId());
            chmod(p, e.getMode());
            Files.setLastModifiedTime(p, FileTime.from(e.getModTime().toInstant()));
        } else {
            skipped++;
            return;
        }
        written.add(rel);
    }

    /** A hard link is made only to a file this image already has, reached without a symlink. */
    private void hardLink(String rel, String linkName) throws IOException {
        String targetRel = ImageFiles.clean(linkName);
        if (targetRel.isEmpty()) throw new ImageException("hard link to the root");
        Path target = existing(targetRel);
        BasicFileAttributes a = target == null ? null : attributes(target);
        if (a == null) throw new ImageException("hard link to " + linkName + ", which the image does not have (yet)");
        Path p = parentDir(rel).resolve(Path.of(rel).getFileName().toString());
        if (p.equals(target)) return;
        if (a.isRegularFile()) {
            remove(p, rel);
            Files.createLink(p, target);
        } else if (a.isSymbolicLink()) {
            remove(p, rel);
            Files.createSymbolicLink(p, Files.readSymbolicLink(target));
        } else {
            throw new ImageException("hard link to " + linkName + ", which is not a file");
        }
        written.add(rel);
    }

    /** Makes sure {@code rel} is a real directory (replacing anything else there), with {@code mode} if it is new. */
    void ensureDirectory(String rel, int mode) throws IOException {
        Path p = parentDir(rel).resolve(Path.of(rel).getFileName().toString());
        BasicFileAttributes a = attributes(p);
        if (a != null && a.isDirectory()) return;
        if (a != null) remove(p, rel);
        createDirectory(p);
        chmod(p, mode);
        if (chown) owner(p, 0, 0);
    }

    /** Gives every directory the layers described its mode, owner and mtime, deepest first. */
    void finish() throws IOException {
        for (var d : dirs.descendingMap().entrySet()) {
            Path p = d.getKey().isEmpty() ? root : root.resolve(d.getKey());
            if (!isDirectory(p)) continue;
            DirMeta m = d.getValue();
            owner(p, m.uid(), m.gid());
            chmod(p, m.mode());
            Files.setLastModifiedTime(p, m.mtime());
        }
    }

    // --- whiteouts -----------------------------------------------------------------------------

    /** Deletes what the lower layers have at {@code p}, keeping what the current layer put there. */
    private void hideLower(Path p, String rel) throws IOException {
        if (!written.contains(rel)) {
            remove(p, rel);
        } else if (isDirectory(p)) {
            hideChildren(p, rel);
        }
    }

    private void hideChildren(Path dir, String rel) throws IOException {
        List<Path> children;
        try (var list = Files.list(dir)) {
            children = list.toList();
        }
        for (Path c : children) hideLower(c, join(rel, c.getFileName().toString()));
    }

    // --- paths, never through a symlink ------------------------------------------------------

    /** The directory that will hold {@code rel}: each ancestor a real directory, created if missing. */
    private Path parentDir(String rel) throws IOException {
        Path p = root;
        String[] parts = rel.split("/");
        for (int i = 0; i < parts.length - 1; i++) {
            p = p.resolve(parts[i]);
            BasicFileAttributes a = attributes(p);
            if (a == null) {
                createDirectory(p);
            } else if (a.isSymbolicLink()) {
                throw new ImageException("its path goes through the symlink /" + root.relativize(p) + "; refused (never followed)");
            } else if (!a.isDirectory()) {
                throw new ImageException("/" + root.relativize(p) + " is not a directory");
            }
        }
        return p;
    }

    /** {@code rel} if it exists (it may itself be a symlink), null if not; refuses a path through a symlink. */
    private Path existing(String rel) throws IOException {
        if (rel.isEmpty()) return root;
        Path p = root;
        String[] parts = rel.split("/");
        for (int i = 0; i < parts.length; i++) {
            p = p.resolve(parts[i]);
            BasicFileAttributes a = attributes(p);
            if (a == null) return null;
            if (i < parts.length - 1 && a.isSymbolicLink()) {
                throw new ImageException("its path goes through the symlink /" + root.relativize(p) + "; refused (never followed)");
            }
            if (i < parts.length - 1 && !a.isDirectory()) return null;
        }
        return p;
    }

    private static BasicFileAttributes attributes(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static boolean isDirectory(Path p) {
        return Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
    }

    private static String join(String parent, String name) {
        return parent.isEmpty() ? name : parent + "/" + name;
    }

    // --- changes ---------------------------------------------------------------------------

    private static void createDirectory(Path p) throws IOException {
        Files.createDirectory(p);
        chmod(p, 0755);
    }

    /** Removes whatever is at {@code p}, a whole tree for a directory, following no symlink. */
    private void remove(Path p, String rel) throws IOException {
        BasicFileAttributes a = attributes(p);
        if (a == null) return;
        if (a.isDirectory()) {
            deleteTree(p);
            dirs.remove(rel);
            dirs.subMap(rel + "/", rel + "/\uffff").clear();
        } else {
            Files.delete(p);
        }
    }

    /** Deletes a directory tree without following symlinks. */
    static void deleteTree(Path dir) throws IOException {
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                chmod(d, 0700); // a directory whose mode forbids it is still emptied (when not root)
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                if (exc != null) throw exc;
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private DirMeta meta(TarArchiveEntry e) {
        return new DirMeta(e.getMode(), (int) e.getLongUserId(), (int) e.getLongGroupId(), FileTime.from(e.getModTime().toInstant()));
    }

    private void owner(Path p, long uid, long gid) throws IOException {
        if (!chown) return;
        try {
            LibC.lchown(p.toString(), (int) uid, (int) gid);
        } catch (LastErrorException x) {
            throw new IOException("lchown " + p + ": " + LibC.strerror(x.getErrorCode()));
        }
    }

    /** chmod without setuid/setgid; only ever on a path checked to be no symlink. */
    private static void chmod(Path p, int mode) throws IOException {
        try {
            LibC.chmod(p.toString(), mode & 07777 & ~SETID);
        } catch (LastErrorException x) {
            throw new IOException("chmod " + p + ": " + LibC.strerror(x.getErrorCode()));
        }
    }
}
