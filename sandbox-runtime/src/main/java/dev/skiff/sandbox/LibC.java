package dev.skiff.sandbox;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;

/** Direct JNA bindings to the few libc calls the runtime needs. Errors arrive as LastErrorException. */
final class LibC {
    static {
        Native.register("c");
    }

    private LibC() {}

    static native int unshare(int flags) throws LastErrorException;

    static native int mount(String source, String target, String fstype, NativeLong flags, String data)
            throws LastErrorException;

    static native int umount2(String target, int flags) throws LastErrorException;

    static native int kill(int pid, int signal) throws LastErrorException;

    static native int chown(String path, int uid, int gid) throws LastErrorException;

    static native int lchown(String path, int uid, int gid) throws LastErrorException;

    /** chmod(2): unlike Files.setPosixFilePermissions, it can set the sticky bit. Follows symlinks. */
    static native int chmod(String path, int mode) throws LastErrorException;

    static native int geteuid();

    static native NativeLong syscall(NativeLong number) throws LastErrorException;

    static native String strerror(int errno);
}
