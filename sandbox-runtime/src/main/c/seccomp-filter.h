/*
 * The seccomp-bpf filter every function runs under (see seccomp-filter.c for the policy and
 * the reason for each denied call).
 */
#ifndef SKIFF_SECCOMP_FILTER_H
#define SKIFF_SECCOMP_FILTER_H

#include <linux/filter.h>

/*
 * Builds the filter for the architecture skiff-init is compiled for into static storage and
 * points *prog at it. Pure computation (no system call), so init can do it before it forks.
 * Returns NULL, or a one-line reason when the program could not be laid out.
 */
const char *skiff_seccomp_build(struct sock_fprog *prog);

/*
 * Installs the filter on the calling thread (and everything it will exec or fork). Needs
 * no_new_privs or CAP_SYS_ADMIN. Returns 0, or -1 with errno set.
 */
int skiff_seccomp_install(const struct sock_fprog *prog);

#endif
