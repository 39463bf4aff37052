package dev.skiff.sandbox;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Syscalls} double that performs nothing and records every call, in order, both as a
 * structured {@link Call} and as a readable line such as
 * {@code mount(/dev/null, /stage/root/dev/null, -, MS_BIND, -)}.
 */
final class RecordingSyscalls implements Syscalls {
    /** One recorded call; fields that a given operation does not have are null (flags 0). */
    record Call(String op, String source, Path target, String fstype, long flags, String data) {
        boolean isMount() {
            return op.equals("mount");
        }

        boolean has(long flag) {
            return (flags & flag) == flag;
        }

        @Override
        public String toString() {
            return switch (op) {
                case "mount" -> "mount(" + dash(source) + ", " + target + ", " + dash(fstype) + ", "
                        + flagNames(flags) + ", " + dash(data) + ")";
                case "symlink" -> "symlink(" + target + " -> " + source + ")";
                case "writeFile" -> "writeFile(" + target + ", " + data.length() + " chars)";
                case "unshare" -> "unshare(0x" + Long.toHexString(flags) + ")";
                case "chown" -> "chown(" + target + ", " + data + ")";
                default -> op + "(" + target + ")";
            };
        }

        private static String dash(String s) {
            return s == null ? "-" : s;
        }
    }

    private final List<Call> calls = new ArrayList<>();

    List<Call> calls() {
        return calls;
    }

    List<Call> mounts() {
        return calls.stream().filter(Call::isMount).toList();
    }

    /** The whole plan, one call per line, for assertion messages. */
    String transcript() {
        StringBuilder sb = new StringBuilder();
        for (Call c : calls) sb.append(c).append('\n');
        return sb.toString();
    }

    static String flagNames(long flags) {
        if (flags == 0) return "0";
        List<String> names = new ArrayList<>();
        long rest = flags;
        long[] bits = {Linux.MS_RDONLY, Linux.MS_NOSUID, Linux.MS_NODEV, Linux.MS_NOEXEC, Linux.MS_REMOUNT,
            Linux.MS_BIND, Linux.MS_REC, Linux.MS_PRIVATE};
        String[] labels = {"MS_RDONLY", "MS_NOSUID", "MS_NODEV", "MS_NOEXEC", "MS_REMOUNT", "MS_BIND", "MS_REC", "MS_PRIVATE"};
        for (int i = 0; i < bits.length; i++) {
            if ((rest & bits[i]) != 0) {
                names.add(labels[i]);
                rest &= ~bits[i];
            }
        }
        if (rest != 0) names.add("0x" + Long.toHexString(rest));
        return String.join("|", names);
    }

    @Override
    public void unshare(int flags) {
        calls.add(new Call("unshare", null, null, null, flags, null));
    }

    @Override
    public void mount(String source, Path target, String fstype, long flags, String data) {
        calls.add(new Call("mount", source, target, fstype, flags, data));
    }

    @Override
    public void mkdirs(Path dir) {
        calls.add(new Call("mkdirs", null, dir, null, 0, null));
    }

    @Override
    public void createFile(Path file) {
        calls.add(new Call("createFile", null, file, null, 0, null));
    }

    @Override
    public void symlink(Path link, String target) {
        calls.add(new Call("symlink", target, link, null, 0, null));
    }

    @Override
    public void writeFile(Path file, String content) {
        calls.add(new Call("writeFile", null, file, null, 0, content));
    }

    @Override
    public void chown(Path path, int uid, int gid) {
        calls.add(new Call("chown", null, path, null, 0, uid + ":" + gid));
    }
}
