/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_CLEANUP_H
#define KENNEL_CLEANUP_H

/*
 * Scope-bound cleanup, after systemd/bubblewrap/crun.  Library-specific
 * helpers (json-c, libseccomp, libcap) live beside their use.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void kn_freep(void *p)
{
	free(*(void **) p);
}

static inline void kn_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void kn_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_ __attribute__((cleanup(kn_freep)))
#define _cleanup_close_ __attribute__((cleanup(kn_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(kn_fclosep)))

/* steal_ptr() - take ownership away from a _cleanup_free_ variable: returns it, leaves NULL. */
static inline void *kn_steal_ptr(void *pp)
{
	void **p = (void **) pp;
	void *r = *p;

	*p = NULL;
	return r;
}
#define steal_ptr(pp) kn_steal_ptr(pp)

/* steal_fd() - take an fd away from a _cleanup_close_ variable: returns it, leaves -1. */
static inline int kn_steal_fd(int *fdp)
{
	int fd = *fdp;

	*fdp = -1;
	return fd;
}
#define steal_fd(fdp) kn_steal_fd(fdp)

#endif
