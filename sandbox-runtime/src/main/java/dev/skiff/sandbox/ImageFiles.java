package dev.skiff.sandbox;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * The files of an image, wherever they are: a directory (an OCI image layout, or an unpacked
 * {@code docker save}) or a tar archive of one. Names are relative, '/'-separated; a name that
 * is absolute or has a '..' is refused, so an image can only name its own files.
 */
interface ImageFiles extends Closeable {
    boolean exists(String name);

    InputStream open(String name) throws IOException;

    /** Reads a small file whole; refuses one larger than {@code max} bytes. */
    default byte[] read(String name, int max) throws IOException {
        try (InputStream in = open(name)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                if (out.size() > max) throw new ImageException(name + " is larger than " + max + " bytes");
            }
            return out.toByteArray();
        }
    }

    static ImageFiles open(Path image) throws IOException {
        if (Files.isDirectory(image)) return new Directory(image);
        if (!Files.isRegularFile(image)) throw new NoSuchFileException(image.toString(), null, "no image there");
        byte[] magic;
        try (InputStream in = Files.newInputStream(image)) {
            magic = in.readNBytes(4);
        }
        if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b
                || magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                || magic.length >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h'
                || magic.length >= 2 && (magic[0] & 0xff) == 0xfd && magic[1] == '7') {
            throw new ImageException(image + " is a compressed archive; it must be decompressed first (an image tar is read in place)");
        }
        try {
            return new Tar(new TarFile(image));
        } catch (IOException | RuntimeException e) {
            throw new ImageException(image + " is neither an image directory nor a tar archive (" + e.getMessage()
                    + "); a compressed archive must be decompressed first", e);
        }
    }

    /** {@code a/./b/} → {@code a/b}; refuses absolute names and '..'. */
    static String clean(String name) throws ImageException {
        if (name.startsWith("/")) throw new ImageException("absolute path " + name + " in the image");
        StringBuilder sb = new StringBuilder();
        for (String part : name.split("/")) {
            if (part.isEmpty() || part.equals(".")) continue;
            if (part.equals("..")) throw new ImageException("path " + name + " climbs out of the image with '..'");
            if (!sb.isEmpty()) sb.append('/');
            sb.append(part);
        }
        return sb.toString();
    }

    final class Directory implements ImageFiles {
        private final Path dir;

        Directory(Path dir) {
            this.dir = dir.toAbsolutePath().normalize();
        }

        private Path path(String name) throws ImageException {
            String clean = clean(name);
            if (clean.isEmpty()) throw new ImageException("empty path in the image");
            return dir.resolve(clean);
        }

        @Override
        public boolean exists(String name) {
            try {
                return Files.isRegularFile(path(name));
            } catch (ImageException e) {
                return false;
            }
        }

        @Override
        public InputStream open(String name) throws IOException {
            Path p = path(name);
            if (!Files.isRegularFile(p)) throw new ImageException(name + " is missing from the image " + dir);
            return Files.newInputStream(p);
        }

        @Override
        public void close() {}

        @Override
        public String toString() {
            return dir.toString();
        }
    }

    /** An image tar, read with random access (every file is found through the archive's index). */
    final class Tar implements ImageFiles {
        private static final int MAX_LINKS = 16;
        private final TarFile tar;
        private final Map<String, TarArchiveEntry> entries = new HashMap<>();

        Tar(TarFile tar) throws ImageException {
            this.tar = tar;
            for (TarArchiveEntry e : tar.getEntries()) {
                String name;
                try {
                    name = clean(e.getName());
                } catch (ImageException ignored) {
                    continue; // such a name can never be asked for
                }
                entries.put(name, e); // the last of duplicates wins, as when tar extracts
            }
        }

        /** Follows the archive's own symlinks and hard links (docker save links identical layers). */
        private TarArchiveEntry find(String name) throws ImageException {
            String current = clean(name);
            Deque<String> seen = new ArrayDeque<>();
            for (int hops = 0; hops <= MAX_LINKS; hops++) {
                TarArchiveEntry e = entries.get(current);
                if (e == null) return null;
                if (e.isLink()) {
                    current = clean(e.getLinkName());
                } else if (e.isSymbolicLink()) {
                    String target = e.getLinkName();
                    int slash = current.lastIndexOf('/');
                    String parent = slash < 0 ? "" : current.substring(0, slash + 1);
                    current = clean(resolveDots(parent + target, name));
                } else {
                    return e.isDirectory() || e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO() ? null : e;
                }
                seen.push(current);
            }
            throw new ImageException(name + ": too many links in the archive (" + seen + ")");
        }

        /** Resolves '..' within the archive (a symlink such as ../abc/layer.tar), refusing to climb out of it. */
        private static String resolveDots(String path, String name) throws ImageException {
            if (path.startsWith("/")) throw new ImageException(name + " links to the absolute path " + path);
            Deque<String> parts = new ArrayDeque<>();
            for (String part : path.split("/")) {
                if (part.isEmpty() || part.equals(".")) continue;
                if (part.equals("..")) {
                    if (parts.isEmpty()) throw new ImageException(name + " links out of the archive: " + path);
                    parts.removeLast();
                } else {
                    parts.addLast(part);
                }
            }
            return String.join("/", parts);
        }

        @Override
        public boolean exists(String name) {
            try {
                return find(name) != null;
            } catch (ImageException e) {
                return false;
            }
        }

        @Override
        public InputStream open(String name) throws IOException {
            TarArchiveEntry e = find(name);
            if (e == null) throw new ImageException(name + " is missing from the image archive");
            return tar.getInputStream(e);
        }

        @Override
        public void close() throws IOException {
            tar.close();
        }
    }
}
