package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The seccomp filter skiff-init installs for the function (src/main/c/seccomp-filter.c), checked
 * from inside real sandboxes (as root, in CI): every denied call is refused with EPERM, clone3
 * with ENOSYS, and what ordinary Python and Node programs do still works.
 *
 * <p>The probe makes each call through {@code syscall(2)} with x86_64 numbers. Arguments are
 * chosen, where the kernel allows it, so that without the filter the call would fail otherwise
 * (EFAULT, EBADF, EINVAL, ENOSYS...) or succeed harmlessly: EPERM then shows the filter answered,
 * not a missing capability. With the filter switched off, 45 of the 65 probes of
 * {@link #DENIED} come out differently. The other 20 give EPERM either way because the kernel's
 * very first check is a capability: pivot_root, move_mount, fsopen, fsmount, fspick, swapon,
 * swapoff, reboot, acct, sethostname, setdomainname, syslog (with dmesg_restrict), vhangup, and
 * clone/unshare with a single namespace flag other than CLONE_NEWUSER.
 */
class SeccompTest {
    private static final int EPERM = 1;
    private static final int ENOSYS = 38;
    private static final int SIGSYS = 31;

    @BeforeAll
    static void root() {
        RequiresRoot.check();
        assertEquals("amd64", System.getProperty("os.arch"), "the probe uses x86_64 system call numbers");
    }

    /** Python prelude: {@code call(nr, *args)} returns (result, errno); pointers are plain ints. */
    private static final String PRELUDE = """
            import ctypes, os, sys
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
            def call(nr, *args):
                ctypes.set_errno(0)
                conv = [ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a) for a in args]
                r = libc.syscall(ctypes.c_long(nr), *conv)
                return r, (ctypes.get_errno() if r == -1 else 0)
            def report(name, nr, *args):
                r, e = call(nr, *args)
                print(name, e, flush=True)
            def in_child(name, nr, *args):
                # For calls that would change the probe itself if they succeeded (unshare, clone).
                pid = os.fork()
                if pid == 0:
                    r, e = call(nr, *args)
                    if r == 0 and nr in (56, 435):
                        os._exit(0)   # the child of a raw clone: leave at once
                    os._exit(e)
                _, status = os.waitpid(pid, 0)
                print(name, os.waitstatus_to_exitcode(status), flush=True)
            BAD = 1   # an address no process maps
            """;

    /** name, x86_64 number, arguments: every call the filter answers with EPERM. */
    private static final String DENIED = """
            report('mount', 165, 0, 0, 0, 0, 0)
            report('umount2', 166, 0, 0)
            report('pivot_root', 155, 0, 0)
            report('chroot', 161, BAD)
            report('move_mount', 429, -1, 0, -1, 0, 0)
            report('open_tree', 428, -100, b'/', 0)
            report('open_tree_attr', 467, -100, b'/', 0, 0, 0)
            report('fsopen', 430, 0, 0)
            report('fsconfig', 431, -1, 0, 0, 0, 0)
            report('fsmount', 432, -1, 0, 0)
            report('fspick', 433, -1, 0, 0)
            report('mount_setattr', 442, -1, 0, 0, 0, 0)
            report('setns', 308, -1, 0)
            report('ptrace', 101, 2, 0x7fffffff, 0, 0)
            report('process_vm_readv', 310, os.getpid(), 0, 0, 0, 0, 1)
            report('process_vm_writev', 311, os.getpid(), 0, 0, 0, 0, 1)
            report('kcmp', 312, 0x7fffffff, 0x7fffffff, 0, 0, 0)
            report('bpf', 321, 1000, 0, 0)
            report('perf_event_open', 298, BAD, 0, -1, -1, 0)
            report('kexec_load', 246, 0, 0, 0, 0)
            report('kexec_file_load', 320, -1, -1, 0, 0, 0)
            report('init_module', 175, 0, 0, 0)
            report('finit_module', 313, -1, 0, 0)
            report('delete_module', 176, BAD, 0)
            report('keyctl', 250, 9999, 0, 0, 0, 0)
            report('add_key', 248, BAD, 0, 0, 0, 0)
            report('request_key', 249, BAD, 0, 0, 0)
            report('open_by_handle_at', 304, -1, BAD, 0)
            report('name_to_handle_at', 303, -1, BAD, BAD, BAD, 0)
            report('swapon', 167, BAD, 0)
            report('swapoff', 168, BAD)
            report('reboot', 169, 0, 0, 0, 0)
            report('acct', 163, 0)
            report('settimeofday', 164, BAD, 0)
            report('clock_settime', 227, 0, BAD)
            report('clock_adjtime', 305, 0, BAD)
            report('adjtimex', 159, BAD)
            report('sethostname', 170, b'x', 1)
            report('setdomainname', 171, b'x', 1)
            report('quotactl', 179, 0, BAD, 0, 0)
            report('quotactl_fd', 443, -1, 0, 0, 0)
            report('syslog', 103, 3, 0, 0)
            report('vhangup', 153)
            report('iopl', 172, 5)
            report('ioperm', 173, 0, 0, 0)
            report('lookup_dcookie', 212, 0, 0, 0)
            report('userfaultfd', 323, 1)
            report('fanotify_init', 300, 0x200, 0)   # FAN_REPORT_FID: allowed unprivileged since 5.13
            report('mknod', 133, b'/tmp/fifo1', 0o10600, 0)
            report('mknodat', 259, -100, b'/tmp/fifo2', 0o10600, 0)
            report('personality(ADDR_NO_RANDOMIZE)', 135, 0x0040000)
            report('personality(READ_IMPLIES_EXEC)', 135, 0x0400000)
            report('x32 getpid', 0x40000000 + 39)
            in_child('unshare(CLONE_NEWUSER)', 272, 0x10000000)
            in_child('unshare(CLONE_NEWNET)', 272, 0x40000000)
            in_child('unshare(CLONE_FS)', 272, 0x200)
            in_child('clone(CLONE_NEWUSER)', 56, 0x10000000 | 17, 0, 0, 0, 0)
            in_child('clone(CLONE_NEWNET)', 56, 0x40000000 | 17, 0, 0, 0, 0)
            in_child('clone(CLONE_NEWUSER|CLONE_NEWNET)', 56, 0x50000000 | 17, 0, 0, 0, 0)
            in_child('clone(CLONE_NEWPID)', 56, 0x20000000 | 17, 0, 0, 0, 0)
            in_child('clone(CLONE_NEWNS)', 56, 0x00020000 | 17, 0, 0, 0, 0)
            in_child('clone(CLONE_NEWCGROUP)', 56, 0x02000000 | 17, 0, 0, 0, 0)
            in_child('clone(CLONE_NEWUTS)', 56, 0x04000000 | 17, 0, 0, 0, 0)
            in_child('clone(CLONE_NEWIPC)', 56, 0x08000000 | 17, 0, 0, 0, 0)
            in_child('clone(CLONE_NEWUSER) high bits set', 56, (0xffffffff << 32) | 0x10000000 | 17, 0, 0, 0, 0)
            """;

    private static Map<String, Integer> probe(String id, String script) throws Exception {
        var r = SandboxTestSupport.run(SandboxTestSupport.spec(id)
                .limits(new Limits(256L << 20, 64, 0))
                .command("/usr/bin/python3", "-c", PRELUDE + script).build());
        assertEquals(0, r.exit().code(), "probe failed: " + r.stdout() + r.stderr());
        Map<String, Integer> results = new LinkedHashMap<>();
        for (String line : r.stdout().strip().split("\n")) {
            int space = line.lastIndexOf(' ');
            results.put(line.substring(0, space), Integer.parseInt(line.substring(space + 1)));
        }
        return results;
    }

    @Test
    void everyDeniedCallIsRefusedWithEperm() throws Exception {
        Map<String, Integer> results = probe("seccomp-deny", DENIED);
        long expected = DENIED.lines().filter(l -> !l.isBlank()).count();
        assertEquals(expected, results.size(), "one line per call: " + results);
        Map<String, Integer> wrong = new LinkedHashMap<>();
        results.forEach((name, errno) -> {
            if (errno != EPERM) wrong.put(name, errno);
        });
        assertEquals(Map.of(), wrong, "calls not refused with EPERM (name=errno)");
    }

    @Test
    void clone3IsAnsweredWithEnosysSoLibcFallsBackToClone() throws Exception {
        Map<String, Integer> results = probe("seccomp-clone3", """
                report('clone3 NULL', 435, 0, 0)
                # struct clone_args (version 0, 64 bytes): flags, pidfd, child_tid, parent_tid,
                # exit_signal, stack, stack_size, tls
                plain = (ctypes.c_uint64 * 8)(0, 0, 0, 0, 17, 0, 0, 0)
                newuser = (ctypes.c_uint64 * 8)(0x10000000, 0, 0, 0, 17, 0, 0, 0)
                in_child('clone3 plain', 435, ctypes.addressof(plain), 64)
                in_child('clone3 CLONE_NEWUSER', 435, ctypes.addressof(newuser), 64)
                """);
        assertEquals(Map.of("clone3 NULL", ENOSYS, "clone3 plain", ENOSYS, "clone3 CLONE_NEWUSER", ENOSYS), results);
    }

    @Test
    void ordinaryCallsStillWork() throws Exception {
        Map<String, Integer> results = probe("seccomp-allow", """
                import socket, subprocess, threading
                def ok(name, good):
                    print(name, 0 if good else 1, flush=True)
                r, e = call(39)
                ok('getpid', r == os.getpid() and e == 0)
                fd, e = call(257, -100, b'/tmp/allowed', os.O_CREAT | os.O_WRONLY, 0o600)
                ok('openat /tmp', fd >= 0 and os.write(fd, b'x') == 1)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind('/tmp/sock')
                ok('socket AF_UNIX', s.fileno() >= 0)
                r, e = call(135, 0xffffffff)
                ok('personality query', r == 0)
                r, e = call(135, 0)
                ok('personality PER_LINUX', r == 0)
                in_child('clone without namespace flags', 56, 17, 0, 0, 0, 0)
                pid = os.fork()
                if pid == 0:
                    os._exit(7)
                ok('os.fork', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7)
                seen = []
                threads = [threading.Thread(target=lambda i=i: seen.append(i)) for i in range(4)]
                for t in threads: t.start()
                for t in threads: t.join()
                ok('threading.Thread', sorted(seen) == [0, 1, 2, 3])
                ok('subprocess', subprocess.run(['/bin/sh', '-c', 'exit 3']).returncode == 3)
                ok('mmap', len(__import__('mmap').mmap(-1, 4096)) == 4096)
                """);
        Map<String, Integer> expected = new LinkedHashMap<>();
        for (String name : List.of("getpid", "openat /tmp", "socket AF_UNIX", "personality query", "personality PER_LINUX",
                "clone without namespace flags", "os.fork", "threading.Thread", "subprocess", "mmap")) {
            expected.put(name, 0);
        }
        assertEquals(expected, results);
    }

    @Test
    void nodeWorkersChildProcessesAndFileIoStillWork() throws Exception {
        String js = """
                const { Worker } = require('worker_threads');
                const { execFileSync } = require('child_process');
                const fs = require('fs');
                fs.writeFileSync('/tmp/n', 'node');
                const w = new Worker('require("worker_threads").parentPort.postMessage(6 * 7)', { eval: true });
                w.on('message', async (m) => {
                  const read = await fs.promises.readFile('/tmp/n', 'utf8');
                  execFileSync('/bin/true');
                  console.log(m, read);
                  process.exit(0);
                });
                """;
        var r = SandboxTestSupport.run(SandboxTestSupport.spec("seccomp-node")
                .limits(new Limits(256L << 20, 64, 0))
                .command("/usr/bin/node", "-e", js).build());
        assertEquals(0, r.exit().code(), r.stdout() + r.stderr());
        assertEquals("42 node", r.stdout().strip());
    }

    @Test
    void functionRunsFilteredWithNoNewPrivsAndInitDoesNot() throws Exception {
        var r = SandboxTestSupport.sh("seccomp-status",
                "grep -E '^(NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status | tr -d ' \\t';"
                        + " echo init; grep -E '^Seccomp:' /proc/1/status | tr -d ' \\t'");
        assertEquals(0, r.exit().code(), r.stderr());
        assertEquals("NoNewPrivs:1\nSeccomp:2\nSeccomp_filters:1\ninit\nSeccomp:0", r.stdout().strip());
    }

    @Test
    void aForeignArchitectureKillsTheProcess() throws Exception {
        // i386 getpid through int 0x80 from a 64-bit process: AUDIT_ARCH_I386, which the filter
        // does not know, so SECCOMP_RET_KILL_PROCESS (SIGSYS). The line before shows the probe ran.
        var r = SandboxTestSupport.run(SandboxTestSupport.spec("seccomp-i386")
                .command("/usr/bin/python3", "-c", """
                        import ctypes, mmap
                        code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])   # mov eax,20; int 0x80; ret
                        m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
                        m.write(code)
                        f = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
                        print('calling', flush=True)
                        print('survived', f(), flush=True)
                        """).build());
        assertEquals("calling", r.stdout().strip(), r.stderr());
        assertEquals(128 + SIGSYS, r.exit().code(), r.stderr());
    }

    @Test
    void mkfifoIsRefusedAlongWithMknod() throws Exception {
        // A known cost of denying mknod/mknodat outright: FIFOs cannot be made either.
        var r = SandboxTestSupport.sh("seccomp-fifo", "mkfifo /tmp/f 2>&1; echo $?");
        assertTrue(r.stdout().contains("Operation not permitted"), r.stdout() + r.stderr());
    }
}
