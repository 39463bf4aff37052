package dev.skiff.server;

import dev.skiff.cli.Packager;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Builds function folders and packages for the end-to-end tests. */
final class Functions {
    private Functions() {}

    static Path folder(String name, String funcYamlExtra, String handlerPy) throws IOException {
        Path dir = Files.createTempDirectory("fn-" + name);
        Files.writeString(dir.resolve("func.yaml"), "name: " + name + "\nruntime: python\n" + funcYamlExtra);
        Files.writeString(dir.resolve("handler.py"), handlerPy);
        return dir;
    }

    static byte[] pack(String name, String funcYamlExtra, String handlerPy) throws IOException {
        return Packager.pack(folder(name, funcYamlExtra, handlerPy));
    }

    /** Deploys a python function through the API and waits for its first replica (201). */
    static void deploy(String name, String funcYamlExtra, String handlerPy) throws IOException {
        io.restassured.RestAssured.given().contentType("application/gzip").body(pack(name, funcYamlExtra, handlerPy))
                .when().put("/v1/functions/" + name).then().statusCode(201);
    }

    /**
     * A raw tar.gz with exactly the given entries: name -> content, or "symlink:" / "hardlink:" +
     * target, or "special:" + a tar type flag (3 character device, 4 block device, 6 FIFO).
     */
    static byte[] rawTar(Map<String, String> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(bytes))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Map.Entry<String, String> e : entries.entrySet()) {
                String v = e.getValue();
                if (v.startsWith("special:")) {
                    tar.putArchiveEntry(new TarArchiveEntry(e.getKey(), (byte) v.charAt("special:".length())));
                } else if (v.startsWith("symlink:")) {
                    TarArchiveEntry t = new TarArchiveEntry(e.getKey(), TarConstants.LF_SYMLINK);
                    t.setLinkName(v.substring("symlink:".length()));
                    tar.putArchiveEntry(t);
                } else if (v.startsWith("hardlink:")) {
                    TarArchiveEntry t = new TarArchiveEntry(e.getKey(), TarConstants.LF_LINK);
                    t.setLinkName(v.substring("hardlink:".length()));
                    tar.putArchiveEntry(t);
                } else {
                    byte[] data = v.getBytes(StandardCharsets.UTF_8);
                    TarArchiveEntry t = new TarArchiveEntry(e.getKey(), true); // keep absolute names as given
                    t.setSize(data.length);
                    tar.putArchiveEntry(t);
                    tar.write(data);
                }
                tar.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    /** A valid package whose one extra file is {@code zeroBytes} of zeros: tiny gzip'ed, huge unpacked. */
    static byte[] bomb(String name, long zeroBytes) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(bytes))) {
            byte[] yaml = ("name: " + name + "\nruntime: python\n").getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry f = new TarArchiveEntry("func.yaml");
            f.setSize(yaml.length);
            tar.putArchiveEntry(f);
            tar.write(yaml);
            tar.closeArchiveEntry();
            TarArchiveEntry zeros = new TarArchiveEntry("zeros.bin");
            zeros.setSize(zeroBytes);
            tar.putArchiveEntry(zeros);
            byte[] block = new byte[1 << 20];
            for (long left = zeroBytes; left > 0; left -= block.length) tar.write(block, 0, (int) Math.min(block.length, left));
            tar.closeArchiveEntry();
        }
        return bytes.toByteArray();
    }
}
