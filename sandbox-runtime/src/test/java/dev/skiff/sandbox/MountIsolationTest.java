package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Mount namespace attacks: nothing of the host is reachable or writable. */
class MountIsolationTest {
    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void dangerousProcFilesAreMaskedOrReadOnly() throws Exception {
        // Kernels differ in which of these exist (this one has no kcore); each one that exists is
        // masked by /dev/null as runc does: it reads as empty and a write goes nowhere. /proc/sys
        // is read-only.
        var r = SandboxTestSupport.python("proc", """
                import os
                for f in ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sysrq-trigger", "/proc/sched_debug"):
                    if not os.path.exists(f):
                        print(f, "absent")
                        continue
                    data = open(f, "rb").read(64)
                    print(f, "empty" if data == b"" else "LEAKS", flush=True)
                try:
                    open("/proc/sys/kernel/hostname", "w").write("x")
                    print("/proc/sys WRITABLE")
                except OSError:
                    print("/proc/sys read-only")
                """);
        String out = r.stdout();
        assertFalse(out.contains("LEAKS") || out.contains("WRITABLE"), out + r.stderr());
        assertTrue(out.contains("/proc/keys empty"), out + r.stderr());
        assertTrue(out.contains("/proc/sys read-only"), out);
    }

    @Test
    void sysIsAbsentAndDevIsMinimal() throws Exception {
        var r = SandboxTestSupport.sh("devsys", "ls /sys 2>&1 | head -1; ls /dev | tr '\\n' ' '");
        assertTrue(r.stdout().contains("No such file"), r.stdout());
        assertEquals("No such file", "No such file");
        String devs = r.stdout().substring(r.stdout().indexOf('\n') + 1).trim();
        assertEquals("fd full null random stderr stdin stdout tty urandom zero", devs);
    }

    @Test
    void tmpIsSizeLimited() throws Exception {
        // The test spec gives /tmp 8 MiB.
        var r = SandboxTestSupport.sh("tmpfull", "dd if=/dev/zero of=/tmp/big bs=1M count=32 2>&1 | grep -c 'No space left'; stat -c %s /tmp/big");
        assertTrue(r.stdout().startsWith("1\n"), r.stdout());
        assertTrue(Long.parseLong(r.stdout().trim().lines().reduce((a, b) -> b).orElseThrow().trim()) <= 8 << 20, r.stdout());
    }

    @Test
    void noInheritedFileDescriptorsAndNoHostPathsBehindFds() throws Exception {
        // CVE-2024-21626 class: a leaked fd to a host directory (or a cwd outside the root) would be a way out.
        var r = SandboxTestSupport.python("fds", """
                import os
                for fd in sorted(int(f) for f in os.listdir("/proc/self/fd")):
                    try:
                        print(fd, os.readlink("/proc/self/fd/%d" % fd))
                    except OSError as e:
                        print(fd, "unreadable")
                print("cwd", os.readlink("/proc/self/cwd"), "root", os.readlink("/proc/self/root"))
                print("init-cwd", os.path.exists("/proc/1/cwd/etc/shadow"))
                """);
        String out = r.stdout();
        for (String line : out.lines().toList()) {
            if (line.startsWith("cwd") || line.startsWith("init")) continue;
            int fd = Integer.parseInt(line.split(" ")[0]);
            assertTrue(fd <= 3, "only stdio and the listing's own fd are open: " + out);
        }
        assertTrue(out.contains("cwd / root /"), out);
        assertTrue(out.contains("init-cwd False"), out);
    }

    @Test
    void symlinksInTheFunctionsCodeResolveInsideTheSandbox() throws Exception {
        Path code = Files.createTempDirectory("evil-code", java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x")));
        Files.createSymbolicLink(code.resolve("shadow"), Path.of("/etc/shadow"));
        Files.createSymbolicLink(code.resolve("hostroot"), Path.of("/../../../../.."));
        Files.createSymbolicLink(code.resolve("work"), Path.of("/work"));
        var spec = SandboxTestSupport.spec("symlinks")
                .add(RootfsEntry.readOnly(code, "/code"))
                .command("/bin/sh", "-c", "cat /code/shadow 2>&1 | head -1; ls /code/hostroot/ | tr '\\n' ' '; echo; ls /code/work 2>&1")
                .build();
        var r = SandboxTestSupport.run(spec);
        assertTrue(r.stdout().contains("No such file"), r.stdout());
        assertFalse(r.stdout().contains("root:"), "host /etc/shadow leaked: " + r.stdout());
        assertFalse(r.stdout().contains("work "), "the host's root is not what / shows: " + r.stdout());
    }

    @Test
    void theFunctionsCodeIsReadOnly() throws Exception {
        Path code = Files.createTempDirectory("ro-code", java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx")));
        // World-writable on the host, so only the read-only mount can stop the function.
        Files.writeString(code.resolve("handler.py"), "x = 1\n");
        Files.setPosixFilePermissions(code.resolve("handler.py"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
        var spec = SandboxTestSupport.spec("rocode")
                .add(RootfsEntry.readOnly(code, "/code"))
                .command("/bin/sh", "-c", "echo y >> /code/handler.py; touch /code/new; echo done")
                .build();
        var r = SandboxTestSupport.run(spec);
        assertTrue(r.stderr().contains("Read-only file system"), r.stderr());
        assertEquals("x = 1\n", Files.readString(code.resolve("handler.py")));
        assertFalse(Files.exists(code.resolve("new")));
    }

    @Test
    void initBinaryCannotBeOverwrittenFromInside() throws Exception {
        // CVE-2019-5736 class: runc's own binary was reachable through /proc/self/exe of a process
        // the container could open. Here the only host binary inside is skiff-init (PID 1, root-owned,
        // read-only on disk); the function must not be able to open it for writing.
        var r = SandboxTestSupport.python("exe", """
                import os, errno
                for path in ("/proc/1/exe", "/proc/self/exe"):
                    try:
                        fd = os.open(path, os.O_WRONLY)
                        print(path, "WRITABLE")
                        os.close(fd)
                    except OSError as e:
                        print(path, errno.errorcode[e.errno])
                """);
        assertFalse(r.stdout().contains("WRITABLE"), r.stdout());
        assertTrue(r.stdout().contains("/proc/1/exe"), r.stdout() + r.stderr());
    }
}
