/*
 * skiff-init: the single-threaded stage that finishes a sandbox from the inside and then
 * stays as its PID 1.
 *
 * Why a separate C program: a JVM is multithreaded, and after fork() only async-signal-safe
 * calls are safe; runc solves the same problem for Go with nsexec. The Java runtime
 * (SandboxLauncher) unshares the mount/uts/ipc/net/pid namespaces on a dedicated thread,
 * stages the root filesystem with mount(2) in that private mount namespace, and spawns this
 * program, which lands as PID 1 of the new PID namespace. What must happen in the new PID
 * namespace, or as the last privileged steps before exec, happens here:
 *
 *   1. join the sandbox cgroup(s) by writing "0" to each JOIN_FILE (v1: "tasks", which moves
 *      just this thread without the kernel's global threadgroup lock; v2: "cgroup.procs"), then unshare the cgroup namespace (so the function sees
 *      its own cgroup as "/");
 *   2. mount a /proc that belongs to this PID namespace (one mounted by the JVM thread would
 *      show the host's processes), and mask the dangerous parts of it;
 *   3. hostname, loopback up;
 *   4. pivot_root into the staged root and detach the old root (runc's pivot_root(".", ".")
 *      trick, so no host path stays reachable);
 *   5. rlimits, close every inherited fd but stdio, drop the capability bounding set,
 *      no_new_privs, switch to the unprivileged uid/gid (which clears all capabilities);
 *   6. fork the function; the child installs the seccomp filter (seccomp-filter.c: a
 *      denylist of mount, namespace, ptrace, bpf, keyring... calls) and execs. Init itself
 *      stays unfiltered. Then reap zombies and pass signals on until the function exits, and
 *      exit with its status (128+signal when it was killed).
 *
 * Lifeline: fd 3, when present, is the read end of a pipe whose write end only the runtime's
 * JVM holds. If the JVM dies (even by SIGKILL) the pipe reports EOF and init kills the sandbox:
 * no orphaned sandboxes. (PR_SET_PDEATHSIG cannot do this: it fires when the *thread* that
 * spawned us exits, and the launcher thread exits right after spawning.)
 *
 * Usage:
 *   skiff-init --root DIR [--cgroup JOIN_FILE]... [--hostname NAME] [--uid N] [--gid N]
 *              [--cwd DIR] [--env K=V]... [--nofile N] [--fsize BYTES] [--wait-net IFNAME]
 *              -- PROGRAM ARGS...
 *
 * Errors are one line on stderr, "skiff-init: <step>: <reason>", and exit status 125; the
 * Java side reports that line as the reason the sandbox did not start.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>
#include <sched.h>

#include "seccomp-filter.h"

#define EXIT_SETUP_FAILED 125
#define MAX_LIST 256

static void die(const char *step, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dprintf(2, "skiff-init: %s: %s\n", step, msg);
    _exit(EXIT_SETUP_FAILED);
}

#define CHECK(step, call) \
    do { if ((call) < 0) die(step, "%s", strerror(errno)); } while (0)

struct plan {
    const char *root;
    const char *cgroups[MAX_LIST];
    int ncgroups;
    const char *hostname;
    uid_t uid;
    gid_t gid;
    const char *cwd;
    char *env[MAX_LIST + 1];
    int nenv;
    long nofile;
    long fsize;
    const char *wait_net;
    char **argv;
};

static long parse_long(const char *opt, const char *v) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 0) die("arguments", "%s wants a non-negative number, got '%s'", opt, v);
    return n;
}

static void parse(int argc, char **argv, struct plan *p) {
    memset(p, 0, sizeof *p);
    p->uid = 65534;
    p->gid = 65534;
    p->cwd = "/";
    p->nofile = 1024;
    p->fsize = -1;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) { i++; break; }
        if (i + 1 >= argc) die("arguments", "%s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--root") == 0) p->root = v;
        else if (strcmp(a, "--cgroup") == 0) {
            if (p->ncgroups == MAX_LIST) die("arguments", "too many --cgroup");
            p->cgroups[p->ncgroups++] = v;
        }
        else if (strcmp(a, "--hostname") == 0) p->hostname = v;
        else if (strcmp(a, "--uid") == 0) p->uid = (uid_t)parse_long(a, v);
        else if (strcmp(a, "--gid") == 0) p->gid = (gid_t)parse_long(a, v);
        else if (strcmp(a, "--cwd") == 0) p->cwd = v;
        else if (strcmp(a, "--env") == 0) {
            if (p->nenv == MAX_LIST) die("arguments", "too many --env");
            p->env[p->nenv++] = (char *)v;
        }
        else if (strcmp(a, "--nofile") == 0) p->nofile = parse_long(a, v);
        else if (strcmp(a, "--fsize") == 0) p->fsize = parse_long(a, v);
        else if (strcmp(a, "--wait-net") == 0) p->wait_net = v;
        else die("arguments", "unknown option %s", a);
    }
    if (!p->root) die("arguments", "--root is required");
    if (i >= argc) die("arguments", "no program after --");
    if (p->uid == 0 || p->gid == 0) die("arguments", "refusing to run a function as root");
    p->argv = &argv[i];
    p->env[p->nenv] = NULL;
}

static void write_file(const char *step, const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die(step, "open %s: %s", path, strerror(errno));
    if (write(fd, text, strlen(text)) < 0) die(step, "write %s: %s", path, strerror(errno));
    close(fd);
}

static void join_cgroups(struct plan *p) {
    for (int i = 0; i < p->ncgroups; i++) write_file("join cgroup", p->cgroups[i], "0");
    /* After joining, so the namespace's root is the sandbox's own cgroup. */
    CHECK("unshare cgroup namespace", unshare(CLONE_NEWCGROUP));
}

static void in_root(char *buf, size_t n, const char *root, const char *rel) {
    if ((size_t)snprintf(buf, n, "%s%s", root, rel) >= n) die("paths", "path too long: %s%s", root, rel);
}

/* Paths of /proc that leak host state or control the host; runc masks the same set. */
static const char *masked_proc_files[] = {
    "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
    "/proc/sysrq-trigger", "/proc/latency_stats", "/proc/kmsg", NULL,
};
static const char *readonly_proc_dirs[] = {
    "/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq", NULL,
};

static void mount_proc(struct plan *p) {
    char proc[4096], path[4096], devnull[4096];
    in_root(proc, sizeof proc, p->root, "/proc");
    CHECK("mount /proc", mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
    in_root(devnull, sizeof devnull, p->root, "/dev/null");
    for (const char **f = masked_proc_files; *f; f++) {
        in_root(path, sizeof path, p->root, *f);
        if (access(path, F_OK) != 0) continue;
        CHECK("mask /proc file", mount(devnull, path, NULL, MS_BIND, NULL));
    }
    for (const char **d = readonly_proc_dirs; *d; d++) {
        in_root(path, sizeof path, p->root, *d);
        if (access(path, F_OK) != 0) continue;
        CHECK("bind /proc dir", mount(path, path, NULL, MS_BIND | MS_REC, NULL));
        CHECK("make /proc dir read-only",
              mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
    }
}

static void loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("loopback", "socket: %s", strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    CHECK("loopback: get flags", ioctl(s, SIOCGIFFLAGS, &ifr));
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    CHECK("loopback: set flags", ioctl(s, SIOCSIFFLAGS, &ifr));
    close(s);
}

/*
 * Outbound mode: the runtime attaches slirp4netns to our network namespace after we start. The
 * function must not run before that network exists, so wait until the interface is up and a
 * default route is in place (read from our own /proc, which shows our namespace's routes).
 */
static void wait_for_network(struct plan *p) {
    char routes[4096];
    in_root(routes, sizeof routes, p->root, "/proc/net/route");
    for (int waited_ms = 0; waited_ms < 10000; waited_ms += 2) {
        unsigned idx = if_nametoindex(p->wait_net);
        if (idx) {
            FILE *f = fopen(routes, "re");
            char line[256];
            int has_default = 0;
            while (f && fgets(line, sizeof line, f)) {
                char ifname[IFNAMSIZ + 1];
                unsigned long dest;
                if (sscanf(line, "%16s %lx", ifname, &dest) == 2 && dest == 0) has_default = 1;
            }
            if (f) fclose(f);
            if (has_default) return;
        }
        usleep(2000);
    }
    die("network", "the outbound interface %s did not come up within 10 s", p->wait_net);
}

static void enter_root(struct plan *p) {
    /* pivot_root moves every task of the mount namespace whose root is the old root, and the
     * JVM thread that staged our mounts is still in this namespace: take a private copy first
     * so the pivot moves only us. */
    CHECK("unshare mount namespace", unshare(CLONE_NEWNS));
    CHECK("chdir to root", chdir(p->root));
    /* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no
     * host path reachable (runc does the same, see its pivotRoot). */
    CHECK("pivot_root", syscall(SYS_pivot_root, ".", "."));
    CHECK("detach old root", umount2(".", MNT_DETACH));
    CHECK("chdir /", chdir("/"));
}

static void set_limit(int resource, long value, const char *name) {
    struct rlimit rl = { (rlim_t)value, (rlim_t)value };
    if (setrlimit(resource, &rl) < 0) die("rlimit", "%s: %s", name, strerror(errno));
}

#define LIFELINE_FD 3

static int has_lifeline(void) {
    return fcntl(LIFELINE_FD, F_GETFD) >= 0;
}

static void close_inherited_fds(int keep_lifeline) {
    /* Nothing of the invoker's may leak in (CVE-2016-9962 class); stdio stays, and the
     * lifeline stays open in init only (close-on-exec, so the function never has it). */
    unsigned first = 3;
    if (keep_lifeline) {
        CHECK("lifeline cloexec", fcntl(LIFELINE_FD, F_SETFD, FD_CLOEXEC));
        first = 4;
    }
    if (syscall(SYS_close_range, first, ~0U, 0) == 0) return;
    for (int fd = (int)first; fd < 65536; fd++) close(fd);
}

static void drop_privileges(struct plan *p) {
    for (int cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            die("drop capabilities", "cap %d: %s", cap, strerror(errno));
    }
    CHECK("setgroups", setgroups(0, NULL));
    CHECK("setgid", setresgid(p->gid, p->gid, p->gid));
    /* Leaving uid 0 for a non-zero uid clears the permitted, effective and ambient sets. */
    CHECK("setuid", setresuid(p->uid, p->uid, p->uid));
    CHECK("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
}

static pid_t start_function(struct plan *p, sigset_t *original_mask, const struct sock_fprog *filter) {
    pid_t pid = fork();
    if (pid < 0) die("fork", "%s", strerror(errno));
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, original_mask, NULL);
        if (chdir(p->cwd) < 0) die("chdir", "%s: %s", p->cwd, strerror(errno));
        /* Last step before exec, so nothing above runs filtered; no_new_privs (set in
         * drop_privileges) is what lets an unprivileged process install it. The function
         * never runs without it: a failure here ends the sandbox. */
        if (skiff_seccomp_install(filter) < 0) die("seccomp", "%s", strerror(errno));
        execve(p->argv[0], p->argv, p->env);
        dprintf(2, "skiff-init: exec %s: %s\n", p->argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* PID 1 duties: reap every child (orphans are re-parented to us), forward termination
 * signals to the function, watch the lifeline, and exit with the function's status. The
 * kernel kills whatever is left in the PID namespace when we exit. */
static int supervise(pid_t function_pid, const sigset_t *handled, int lifeline) {
    int sfd = signalfd(-1, handled, SFD_CLOEXEC);
    if (sfd < 0) die("signalfd", "%s", strerror(errno));
    struct pollfd fds[2] = { { sfd, POLLIN, 0 }, { lifeline ? LIFELINE_FD : -1, POLLIN, 0 } };
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            die("poll", "%s", strerror(errno));
        }
        if (fds[1].revents) {
            /* EOF or error on the lifeline: the runtime is gone, so is the sandbox. */
            kill(-1, SIGKILL);
            return 137;
        }
        if (!(fds[0].revents & POLLIN)) continue;
        struct signalfd_siginfo info;
        if (read(sfd, &info, sizeof info) != sizeof info) continue;
        int sig = (int)info.ssi_signo;
        if (sig != SIGCHLD) {
            kill(function_pid, sig);
            continue;
        }
        int status;
        pid_t done;
        while ((done = waitpid(-1, &status, WNOHANG)) > 0) {
            if (done != function_pid) continue;
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        }
    }
}

int main(int argc, char **argv) {
    struct plan p;
    parse(argc, argv, &p);
    if (getpid() != 1) die("start", "must run as PID 1 of a new PID namespace (pid is %d)", getpid());

    /* Block the signals we handle before anything else so none is lost in the gaps. */
    sigset_t handled, original;
    sigemptyset(&handled);
    int forwarded[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaddset(&handled, forwarded[i]);
    sigprocmask(SIG_BLOCK, &handled, &original);

    join_cgroups(&p);
    mount_proc(&p);
    if (p.hostname) CHECK("sethostname", sethostname(p.hostname, strlen(p.hostname)));
    loopback_up();
    if (p.wait_net) wait_for_network(&p);
    enter_root(&p);

    set_limit(RLIMIT_CORE, 0, "core");
    set_limit(RLIMIT_NOFILE, p.nofile, "nofile");
    if (p.fsize >= 0) set_limit(RLIMIT_FSIZE, p.fsize, "fsize");
    int lifeline = has_lifeline();
    close_inherited_fds(lifeline);
    drop_privileges(&p);

    struct sock_fprog filter;
    const char *filter_error = skiff_seccomp_build(&filter);
    if (filter_error) die("seccomp", "%s", filter_error);

    pid_t function_pid = start_function(&p, &original, &filter);
    return supervise(function_pid, &handled, lifeline);
}
