/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Read leases on local source archives: see lease.h. */
#include "lease.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>

/* Filesystems whose every writer goes through this kernel's VFS. */
static bool local_fs(long type)
{
	switch ((unsigned long) type) {
	case EXT4_SUPER_MAGIC: /* also ext2 and ext3 */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case F2FS_SUPER_MAGIC:
	case TMPFS_MAGIC:
		return true;
	default:
		return false;
	}
}

/* Consume every pending break signal.  Return: true when there was one. */
static bool drain(const sigset_t *watch)
{
	const struct timespec zero = { 0, 0 };
	bool seen = false;

	while (sigtimedwait(watch, NULL, &zero) > 0)
		seen = true;
	return seen;
}

int kn_lease_take(kn_lease *l, int fd, kn_error *err)
{
	struct statfs sfs;
	int r;

	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->sig = SIGRTMIN;
	if (fstatfs(fd, &sfs) < 0)
		return kn_error_set(err, errno, "statfs");
	if (!local_fs(sfs.f_type))
		return kn_error_setx(err, ENOTSUP, "it is not on a local filesystem (type 0x%lx), where "
				     "a lease would not see every writer", (unsigned long) sfs.f_type);
	if (fstat(fd, &l->st) < 0)
		return kn_error_set(err, errno, "stat");
	sigemptyset(&l->watch);
	sigaddset(&l->watch, l->sig);
	sigaddset(&l->watch, SIGIO);
	r = pthread_sigmask(SIG_BLOCK, &l->watch, &l->saved);
	if (r)
		return kn_error_set(err, r, "block the lease signals");
	/* a signal left from an earlier lease of this process is not about this one */
	drain(&l->watch);
	if (fcntl(fd, F_SETSIG, l->sig) < 0) {
		r = kn_error_set(err, errno, "F_SETSIG");
		goto fail;
	}
	if (fcntl(fd, F_SETLEASE, F_RDLCK) < 0) {
		int e = errno;

		if (e == EAGAIN)
			r = kn_error_setx(err, e, "it is open for writing");
		else if (e == EACCES || e == EPERM)
			r = kn_error_setx(err, EACCES, "it is not yours (a lease needs the file's owner or CAP_LEASE)");
		else if (e == EINVAL)
			r = kn_error_setx(err, e, "its filesystem has no leases");
		else
			r = kn_error_set(err, e, "lease");
		goto fail;
	}
	l->held = true;
	/* written between open() and the lease: the size or mtime say so */
	{
		struct stat now;

		if (fstat(fd, &now) < 0) {
			r = kn_error_set(err, errno, "stat");
			kn_lease_release(l);
			return r;
		}
		l->st = now;
	}
	return 0;
fail:
	drain(&l->watch);
	pthread_sigmask(SIG_SETMASK, &l->saved, NULL);
	return r;
}

int kn_lease_check(kn_lease *l, kn_error *err)
{
	struct stat now;

	if (!l->held)
		return kn_error_setx(err, EINVAL, "no lease held");
	/* Three witnesses, any one is enough: the break signal (pending,
	 * since it is blocked), the lease itself (a lease being broken, or
	 * removed after /proc/sys/fs/lease-break-time, is no longer F_RDLCK),
	 * and the file's size and mtime. */
	if (drain(&l->watch))
		l->broken = true;
	if (fcntl(l->fd, F_GETLEASE) != F_RDLCK)
		l->broken = true;
	if (fstat(l->fd, &now) < 0 || now.st_size != l->st.st_size ||
	    now.st_mtim.tv_sec != l->st.st_mtim.tv_sec || now.st_mtim.tv_nsec != l->st.st_mtim.tv_nsec)
		l->broken = true;
	if (l->broken)
		return kn_error_setx(err, ESTALE, "it was opened for writing or changed while it was read");
	return 0;
}

void kn_lease_release(kn_lease *l)
{
	if (!l->held)
		return;
	fcntl(l->fd, F_SETLEASE, F_UNLCK);
	/* after F_UNLCK no new break can be signalled: drop what is pending,
	 * then unblock (a pending realtime signal would kill the process) */
	drain(&l->watch);
	pthread_sigmask(SIG_SETMASK, &l->saved, NULL);
	l->held = false;
}
