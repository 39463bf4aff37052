/*
 * seccomp-bpf filter of a Skiff function, written by hand as a classic BPF program (no
 * libseccomp: skiff-init is one static binary built with a plain `cc -static`).
 *
 * Installed by skiff-init in the forked function child, right before execve, after
 * no_new_privs (so installing it needs no privilege); init itself stays unfiltered. The filter
 * is inherited by every process and thread of the function and cannot be removed.
 *
 * Policy: a denylist. Functions are arbitrary Python/Node programs, so everything is allowed
 * except the calls below, which no function needs and which either change state outside the
 * sandbox or expose kernel code that has a history of privilege escalations. Most of them
 * already fail for lack of capabilities (the function runs as uid 65534 with an empty bounding
 * set); the filter is the second wall, in front of kernel code that runs *before* those
 * capability checks, and it closes the calls that need no capability at all (keyctl, bpf,
 * userfaultfd, perf_event_open, unshare(CLONE_NEWUSER), ...).
 *
 * The program, for the architecture we were compiled for (NATIVE below):
 *
 *     A = arch;  if A != NATIVE             -> KILL_PROCESS   (i386 via int 0x80, x32 ABI...)
 *     A = nr;    if A >= 0x40000000 (x86)   -> ERRNO(EPERM)   (x32 system calls)
 *                if A == <each denied call> -> ERRNO(EPERM)
 *                if A == clone              -> check flags
 *                if A == clone3             -> ERRNO(ENOSYS)
 *                if A == personality        -> check persona
 *                                           -> ALLOW
 *     clone:       A = low 32 bits of args[0]; if A & CLONE_NEW* -> ERRNO(EPERM) else ALLOW
 *     personality: A = low 32 bits of args[0]; if A == 0 or A == 0xffffffff -> ALLOW else EPERM
 *
 * A foreign architecture is killed rather than refused: its numbers mean other calls, and no
 * function has a reason to make them (Docker answers i386 with its own table; we do not keep
 * one). Every allowed-by-number path depends on the number only, so the kernel's seccomp action
 * cache (5.11+) lets ordinary calls (read, write, futex...) skip the filter altogether.
 */
#define _GNU_SOURCE
#include "seccomp-filter.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef PR_SET_SECCOMP
#define PR_SET_SECCOMP 22
#endif

/* ---------------------------------------------------------------------------------------
 * System call numbers, one column per supported architecture. Written out rather than taken
 * from <sys/syscall.h>: that header knows only the build architecture and, on older build
 * hosts, not the newest calls. x86_64 numbers come from arch/x86/entry/syscalls/syscall_64.tbl,
 * aarch64 ones from include/uapi/asm-generic/unistd.h (aarch64 uses the generic table); since
 * Linux 5.1 (number 424 on) new calls have the same number everywhere. NONE: no such call on
 * that architecture.
 * --------------------------------------------------------------------------------------- */
#define NONE (-1)

struct sysno {
    const char *name;
    int x86_64;
    int aarch64;
};

/* Answered with EPERM. One group per reason. */
static const struct sysno denied[] = {
    /* Changing the filesystem view: mounts, the new mount API and changing root. A function
     * must see exactly the root it was given; remounting the read-only root writable, mounting
     * over /proc masks, or a chroot-based escape all start here. The new mount API was the
     * entry point of CVE-2022-0185 (fsconfig heap overflow, container escape from an
     * unprivileged user namespace). */
    { "mount",              165,   40 },
    { "umount2",            166,   39 },
    { "pivot_root",         155,   41 },
    { "chroot",             161,   51 },
    { "move_mount",         429,  429 },
    { "open_tree",          428,  428 },
    { "open_tree_attr",     467,  467 },  /* open_tree with mount attributes (Linux 6.15) */
    { "fsopen",             430,  430 },
    { "fsconfig",           431,  431 },
    { "fsmount",            432,  432 },
    { "fspick",             433,  433 },
    { "mount_setattr",      442,  442 },

    /* Namespaces (clone with CLONE_NEW* flags and clone3 are handled below). A new user
     * namespace hands the caller every capability inside it and opens kernel code normally
     * reserved to CAP_SYS_ADMIN: the path of CVE-2022-0185, CVE-2022-0492 (cgroup v1
     * release_agent escape), CVE-2023-0386 (overlayfs) and many netfilter bugs
     * (CVE-2022-1015, CVE-2023-32233). setns would join another namespace through a
     * /proc/PID/ns file. */
    { "unshare",            272,   97 },
    { "setns",              308,  268 },

    /* Other processes' memory and kernel object identity. ptrace lets a process read and
     * rewrite any process of the same uid it can see, and has its own escalations
     * (CVE-2019-13272 PTRACE_TRACEME, CVE-2014-4699); process_vm_readv/writev are the same
     * access without attaching. kcmp compares another process's files, memory and fs state
     * behind the same ptrace access check. */
    { "ptrace",             101,  117 },
    { "process_vm_readv",   310,  270 },
    { "process_vm_writev",  311,  271 },
    { "kcmp",               312,  272 },

    /* Loading code into the kernel and tracing it. The eBPF verifier has a long list of
     * escalations reachable unprivileged (CVE-2017-16995, CVE-2020-8835, CVE-2021-3490);
     * perf_event_open likewise (CVE-2013-2094, CVE-2020-14351) and it observes the host's
     * CPUs. Modules and kexec replace kernel code outright. */
    { "bpf",                321,  280 },
    { "perf_event_open",    298,  241 },
    { "kexec_load",         246,  104 },
    { "kexec_file_load",    320,  294 },
    { "init_module",        175,  105 },
    { "finit_module",       313,  273 },
    { "delete_module",      176,  106 },

    /* Kernel keyrings. They are not namespaced: the user keyring of uid 65534 is shared by
     * every sandbox on the host, a channel between tenants. And the keyring code had its own
     * escalations (CVE-2016-0728: refcount overflow in keyctl(KEYCTL_JOIN_SESSION_KEYRING)). */
    { "keyctl",             250,  219 },
    { "add_key",            248,  217 },
    { "request_key",        249,  218 },

    /* File handles bypass path lookup, and so the sandbox's root: open_by_handle_at is how
     * the 2014 "shocker" exploit read the host's /etc/shadow from a Docker container.
     * name_to_handle_at is its other half. */
    { "open_by_handle_at",  304,  265 },
    { "name_to_handle_at",  303,  264 },

    /* Host-wide state that no namespace isolates: swap, reboot, process accounting, the
     * clock (settimeofday, clock_settime, clock_adjtime and adjtimex, even its read-only
     * mode), hostname and domain name (the sandbox's UTS is set by init), disk quotas, the
     * kernel log (syslog: kernel addresses, other tenants' messages), the controlling
     * terminal (vhangup), raw I/O ports (iopl, ioperm: x86 only) and the oprofile-era
     * lookup_dcookie (gone since Linux 6.8; refused in case of an older kernel). */
    { "swapon",             167,  224 },
    { "swapoff",            168,  225 },
    { "reboot",             169,  142 },
    { "acct",               163,   89 },
    { "settimeofday",       164,  170 },
    { "clock_settime",      227,  112 },
    { "clock_adjtime",      305,  266 },
    { "adjtimex",           159,  171 },
    { "sethostname",        170,  161 },
    { "setdomainname",      171,  162 },
    { "quotactl",           179,   60 },
    { "quotactl_fd",        443,  443 },  /* quotactl on an fd (Linux 5.14) */
    { "syslog",             103,  116 },
    { "vhangup",            153,   58 },
    { "iopl",               172, NONE },
    { "ioperm",             173, NONE },
    { "lookup_dcookie",     212,   18 },

    /* Exploitation helpers. userfaultfd lets a process stall the kernel in the middle of a
     * copy from user memory, which turns narrow kernel races into reliable exploits (the
     * reason Linux 5.2 added the vm.unprivileged_userfaultfd sysctl). fanotify_init watches
     * whole filesystems. */
    { "userfaultfd",        323,  282 },
    { "fanotify_init",      300,  262 },

    /* Device nodes. CAP_MKNOD is gone already; this is the second wall in front of creating
     * a node for a host disk or /dev/mem. It also refuses FIFOs (mkfifo). */
    { "mknod",              133, NONE },
    { "mknodat",            259,   33 },
};

/* Calls checked on their arguments. */
static const struct sysno sys_clone = { "clone", 56, 220 };
static const struct sysno sys_clone3 = { "clone3", 435, 435 };
static const struct sysno sys_personality = { "personality", 135, 92 };

/*
 * clone: the same namespaces as unshare, through the flags in args[0]. The kernel keeps only
 * their low 32 bits (lower_32_bits(clone_flags) in kernel/fork.c), which is what we test.
 * CLONE_NEWTIME (0x80) lies in the exit-signal byte of the legacy clone and cannot be asked
 * for there (such a signal number is invalid anyway); it is listed so no namespace is missing.
 *
 * clone3 passes its flags in a struct in memory, which a BPF filter cannot read. It is
 * answered ENOSYS, as if the kernel predated it: glibc (fork, posix_spawn, pthread_create)
 * then falls back to clone, which we can check. Docker's default profile does the same.
 */
#define CLONE_NAMESPACES (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC \
                          | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME)

/*
 * personality: only PER_LINUX (0) and the query 0xffffffff. Other personas switch off
 * hardening for the process: ADDR_NO_RANDOMIZE (ASLR), READ_IMPLIES_EXEC (NX), MMAP_PAGE_ZERO
 * (CVE-2009-1895: mapping page zero through a persona to exploit NULL dereferences). The
 * kernel takes an unsigned int, so the low 32 bits of args[0] are the whole argument.
 */
#define PERSONALITY_LINUX 0x00000000u
#define PERSONALITY_QUERY 0xffffffffu

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define NATIVE(s) ((s).x86_64)
/* x32 ABI calls: x86_64 numbers with this bit set. Refused, like Docker does: the x32 entry
 * points are a second, rarely used copy of the system call table. */
#define X32_SYSCALL_BIT 0x40000000u
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#define NATIVE(s) ((s).aarch64)
#else
#error "skiff-init's seccomp filter knows x86_64 and aarch64 only"
#endif

/* Offsets into struct seccomp_data, the input of the program. */
#define OFF_NR offsetof(struct seccomp_data, nr)
#define OFF_ARCH offsetof(struct seccomp_data, arch)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define OFF_ARG0_LOW offsetof(struct seccomp_data, args[0])
#else
#define OFF_ARG0_LOW (offsetof(struct seccomp_data, args[0]) + 4)
#endif

/* ---------------------------------------------------------------------------------------
 * A small assembler: classic BPF only jumps forward, by 0..255 instructions, so jumps name a
 * label and their offsets are filled in once every label has a place.
 * --------------------------------------------------------------------------------------- */
enum label { NEXT = -1, L_EPERM, L_ENOSYS, L_ALLOW, L_KILL, L_CLONE, L_PERSONALITY, L_COUNT };

#define MAX_INSNS 128

struct program {
    struct sock_filter insn[MAX_INSNS];
    signed char jt[MAX_INSNS], jf[MAX_INSNS];
    int at[L_COUNT];
    int n;
};

static struct program prog;

static void emit(struct program *p, uint16_t code, uint32_t k, int jt, int jf) {
    if (p->n < MAX_INSNS) {
        p->insn[p->n] = (struct sock_filter)BPF_STMT(code, k);
        p->jt[p->n] = (signed char)jt;
        p->jf[p->n] = (signed char)jf;
    }
    p->n++;
}

static void load(struct program *p, uint32_t offset) { emit(p, BPF_LD | BPF_W | BPF_ABS, offset, NEXT, NEXT); }
static void ret(struct program *p, uint32_t action) { emit(p, BPF_RET | BPF_K, action, NEXT, NEXT); }
static void jeq(struct program *p, uint32_t k, int jt, int jf) { emit(p, BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf); }
static void place(struct program *p, enum label l) { p->at[l] = p->n; }

static const char *link_jumps(struct program *p) {
    if (p->n > MAX_INSNS) return "filter longer than MAX_INSNS";
    for (int i = 0; i < p->n; i++) {
        if (BPF_CLASS(p->insn[i].code) != BPF_JMP) continue;
        int labels[2] = { p->jt[i], p->jf[i] };
        unsigned char offsets[2];
        for (int j = 0; j < 2; j++) {
            int offset = labels[j] == NEXT ? 0 : p->at[labels[j]] - (i + 1);
            if (labels[j] != NEXT && p->at[labels[j]] < 0) return "jump to a label never placed";
            if (offset < 0 || offset > 255) return "jump out of classic BPF's forward 0..255 range";
            offsets[j] = (unsigned char)offset;
        }
        p->insn[i].jt = offsets[0];
        p->insn[i].jf = offsets[1];
    }
    return NULL;
}

const char *skiff_seccomp_build(struct sock_fprog *out) {
    struct program *p = &prog;
    p->n = 0;
    for (int l = 0; l < L_COUNT; l++) p->at[l] = -1;

    load(p, OFF_ARCH);
    jeq(p, NATIVE_ARCH, NEXT, L_KILL);
    load(p, OFF_NR);
#ifdef X32_SYSCALL_BIT
    emit(p, BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, L_EPERM, NEXT);
#endif
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        if (NATIVE(denied[i]) != NONE) jeq(p, (uint32_t)NATIVE(denied[i]), L_EPERM, NEXT);
    }
    jeq(p, (uint32_t)NATIVE(sys_clone), L_CLONE, NEXT);
    jeq(p, (uint32_t)NATIVE(sys_clone3), L_ENOSYS, NEXT);
    jeq(p, (uint32_t)NATIVE(sys_personality), L_PERSONALITY, NEXT);
    ret(p, SECCOMP_RET_ALLOW);

    place(p, L_CLONE);
    load(p, OFF_ARG0_LOW);
    emit(p, BPF_JMP | BPF_JSET | BPF_K, CLONE_NAMESPACES, L_EPERM, L_ALLOW);

    place(p, L_PERSONALITY);
    load(p, OFF_ARG0_LOW);
    jeq(p, PERSONALITY_LINUX, L_ALLOW, NEXT);
    jeq(p, PERSONALITY_QUERY, L_ALLOW, L_EPERM);

    place(p, L_EPERM);
    ret(p, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
    place(p, L_ENOSYS);
    ret(p, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
    place(p, L_ALLOW);
    ret(p, SECCOMP_RET_ALLOW);
    place(p, L_KILL);
    ret(p, SECCOMP_RET_KILL_PROCESS);

    const char *error = link_jumps(p);
    if (error) return error;
    out->len = (unsigned short)p->n;
    out->filter = p->insn;
    return NULL;
}

int skiff_seccomp_install(const struct sock_fprog *filter) {
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, filter, 0, 0);
}
