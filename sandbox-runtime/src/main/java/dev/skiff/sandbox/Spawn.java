package dev.skiff.sandbox;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.StringArray;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * posix_spawn(3) through JNA, from the calling thread.
 *
 * <p>Why not ProcessBuilder: the launcher thread has unshared its PID namespace for children,
 * and the kernel refuses to create threads (CLONE_THREAD) from such a thread. ProcessBuilder
 * starts the JDK's "process reaper" thread from the calling thread whenever no idle one exists,
 * so with several live sandboxes it fails with "unable to create native thread" (and would leave
 * the child orphaned). posix_spawn creates only the child (clone with CLONE_VM|CLONE_VFORK, no
 * CLONE_THREAD), which lands as PID 1 of the new namespace; waiting for it happens later on an
 * ordinary thread.
 */
final class Spawn {
    /** A spawned child: its host PID and the read ends of its stdout and stderr pipes. */
    record Child(long pid, InputStream stdout, InputStream stderr) {}

    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 02000000;

    static {
        Native.register(Spawn.class, "c");
    }

    private Spawn() {}

    private static native int posix_spawn(int[] pid, String path, Pointer fileActions, Pointer attr, StringArray argv, StringArray envp);

    private static native int posix_spawn_file_actions_init(Pointer actions);

    private static native int posix_spawn_file_actions_destroy(Pointer actions);

    private static native int posix_spawn_file_actions_adddup2(Pointer actions, int fd, int newFd);

    private static native int posix_spawn_file_actions_addopen(Pointer actions, int fd, String path, int flags, int mode);

    private static native int posix_spawnattr_init(Pointer attr);

    private static native int posix_spawnattr_destroy(Pointer attr);

    private static native int posix_spawnattr_setflags(Pointer attr, short flags);

    private static native int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);

    private static native int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset);

    private static native int sigemptyset(Pointer set);

    private static native int sigfillset(Pointer set);

    private static native int pipe2(int[] fds, int flags) throws LastErrorException;

    private static native int close(int fd);

    private static native int waitpid(int pid, int[] status, int options) throws LastErrorException;

    static native String strerror(int errno);

    private static int lifelineRead = -1;

    /**
     * glibc >= 2.34: close every fd from N up in the child before exec. Without it the child
     * inherits every fd of the JVM that lacks close-on-exec (the JDK does not set it on files it
     * opens; ProcessBuilder relies on jspawnhelper closing them), which leaks into skiff-init and
     * slirp4netns, and keeps other sandboxes' freshly written files open for writing so their
     * read-only remount fails with EBUSY.
     */
    private static final com.sun.jna.Function CLOSEFROM = closefrom();

    private static com.sun.jna.Function closefrom() {
        try {
            return com.sun.jna.NativeLibrary.getInstance("c").getFunction("posix_spawn_file_actions_addclosefrom_np");
        } catch (UnsatisfiedLinkError e) {
            return null;
        }
    }

    /**
     * The read end of a pipe whose write end this JVM holds until it dies (both ends
     * close-on-exec, so no other child keeps it alive). Every sandbox init gets the read end as
     * fd 3 and kills its sandbox when it reports EOF.
     */
    static synchronized int lifeline() throws IOException {
        if (lifelineRead < 0) {
            int[] fds = new int[2];
            try {
                pipe2(fds, O_CLOEXEC);
            } catch (LastErrorException e) {
                throw new IOException("pipe2: " + strerror(e.getErrorCode()));
            }
            lifelineRead = fds[0]; // fds[1], the write end, is deliberately never closed
        }
        return lifelineRead;
    }

    /**
     * Spawns {@code argv} with an empty environment and {@code lifeline} as fd 3. With
     * {@code inheritStdio} the child shares this process's fds 0-2; otherwise stdin is /dev/null
     * and stdout/stderr go to pipes returned in the {@link Child}.
     */
    static Child spawn(List<String> argv, int lifeline, boolean inheritStdio) throws IOException {
        if (inheritStdio) {
            int pid = posixSpawn(argv, lifeline, null);
            return new Child(pid, InputStream.nullInputStream(), InputStream.nullInputStream());
        }
        int[] out = new int[2];
        int[] err = new int[2];
        try {
            pipe2(out, O_CLOEXEC);
            pipe2(err, O_CLOEXEC);
        } catch (LastErrorException e) {
            close(out[0]);
            close(out[1]);
            throw new IOException("pipe2: " + strerror(e.getErrorCode()));
        }
        // Open the Java streams before spawning: the launcher thread should touch no path after it.
        InputStream stdout = null;
        InputStream stderr = null;
        try {
            stdout = reopen(out[0]);
            stderr = reopen(err[0]);
            int pid = posixSpawn(argv, lifeline, new int[] {out[1], err[1]});
            return new Child(pid, stdout, stderr);
        } catch (IOException | RuntimeException e) {
            if (stdout != null) stdout.close();
            if (stderr != null) stderr.close();
            throw e;
        } finally {
            for (int fd : new int[] {out[0], out[1], err[0], err[1]}) close(fd);
        }
    }

    /** posix_spawn with a clean signal state; {@code outErr} null means inherit fds 0-2. */
    private static int posixSpawn(List<String> argv, int lifeline, int[] outErr) throws IOException {
        Memory actions = new Memory(1024); // larger than glibc's posix_spawn_file_actions_t
        Memory attr = new Memory(1024);    // larger than glibc's posix_spawnattr_t
        Memory sigset = new Memory(128);
        posix_spawn_file_actions_init(actions);
        posix_spawnattr_init(attr);
        try {
            if (outErr != null) {
                posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0);
                posix_spawn_file_actions_adddup2(actions, outErr[0], 1); // dup2 clears CLOEXEC on 1 and 2
                posix_spawn_file_actions_adddup2(actions, outErr[1], 2);
            }
            posix_spawn_file_actions_adddup2(actions, lifeline, 3);
            if (CLOSEFROM != null) CLOSEFROM.invokeInt(new Object[] {actions, 4});
            // The JVM's threads block and handle signals their own way; the child starts clean.
            posix_spawnattr_setflags(attr, (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
            sigemptyset(sigset);
            posix_spawnattr_setsigmask(attr, sigset);
            sigfillset(sigset);
            posix_spawnattr_setsigdefault(attr, sigset);
            int[] pid = new int[1];
            int rc = posix_spawn(pid, argv.get(0), actions, attr, new StringArray(argv.toArray(String[]::new)), new StringArray(new String[0]));
            if (rc != 0) throw new IOException("posix_spawn " + argv.get(0) + ": " + strerror(rc));
            return pid[0];
        } finally {
            posix_spawn_file_actions_destroy(actions);
            posix_spawnattr_destroy(attr);
        }
    }

    /** Opens a Java stream on a pipe read end via /proc (the JDK has no public fd constructor). */
    private static InputStream reopen(int fd) throws IOException {
        return new FileInputStream("/proc/self/fd/" + fd);
    }

    /** Reaps a child that has exited; returns its exit code (128+signal when killed). */
    static int reap(long pid) {
        int[] status = new int[1];
        try {
            waitpid((int) pid, status, 0);
        } catch (LastErrorException e) {
            return -1;
        }
        int s = status[0];
        int termsig = s & 0x7f;
        return termsig == 0 ? (s >> 8) & 0xff : 128 + termsig;
    }
}
