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

/* steal_ptr() - take ownership away from a _cleanup_ variable. */
#define steal_ptr(pp) __extension__ ({ __typeof__(*(pp)) _p = *(pp); *(pp) = NULL; _p; })
/* steal_fd() - take an fd away from a _cleanup_close_ variable. */
#define steal_fd(fdp) __extension__ ({ int _fd = *(fdp); *(fdp) = -1; _fd; })

#endif
