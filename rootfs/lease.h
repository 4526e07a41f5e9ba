/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_LEASE_H
#define KENNEL_LEASE_H

/*
 * A read lease on a local source archive (fcntl F_SETLEASE, F_RDLCK): the
 * kernel grants it only while nobody has the file open for writing, and
 * breaks it, with a signal, when anyone opens it for writing or truncates
 * it later.  A pull that holds an unbroken lease from before it hashes the
 * archive until after it has unpacked it read the same bytes twice, so it
 * can hash and unpack the user's file in place instead of copying it into
 * the cache first (no window to swap the content between the two reads).
 *
 * The break is reported with a realtime signal (F_SETSIG) that stays
 * blocked, and is picked up with sigtimedwait() when the caller checks;
 * the lease's own state (F_GETLEASE) and the file's size and mtime are
 * checked too.  Any of them saying "changed" fails the check.
 *
 * Leases see only the writers of this kernel, so they are used only on
 * local filesystems (ext2/3/4, XFS, Btrfs, F2FS, tmpfs): on NFS, CIFS,
 * FUSE or overlayfs another machine, a FUSE server or a write to a lower
 * layer would change the file unseen, and the caller copies it instead.
 */

#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"

typedef struct kn_lease {
	int fd;          /* the leased file (not owned) */
	int sig;         /* the realtime signal a break is reported with */
	bool held;
	bool broken;     /* a break was seen by a check */
	sigset_t watch;  /* sig and SIGIO (sent when the realtime one cannot be queued) */
	sigset_t saved;  /* the thread's signal mask before kn_lease_take() */
	struct stat st;  /* the file when the lease was taken */
} kn_lease;

/*
 * kn_lease_take() - take a read lease on @fd (opened O_RDONLY) and start
 * watching for its break.  Blocks the break signals in the calling thread:
 * call it before the process starts other threads (they inherit the mask,
 * so the signal stays pending for the check instead of being delivered).
 * Return: 0 with @l held; or -errno with @err saying why the file cannot be
 * read in place (the caller copies it instead): -EAGAIN someone has it
 * open for writing, -EACCES not the caller's file (and no CAP_LEASE),
 * -EINVAL the filesystem has no leases, -ENOTSUP a filesystem whose
 * writers a lease cannot see.  @l needs no release on failure.
 */
int kn_lease_take(kn_lease *l, int fd, kn_error *err);

/*
 * kn_lease_check() - has the file stayed untouched since kn_lease_take()?
 * Call it after the last read of the file and before publishing anything
 * made from it.  Once broken, it stays broken.
 * Return: 0 unbroken; -ESTALE with @err set when the lease was broken
 * (the file was opened for writing or truncated) or the file's size or
 * mtime changed.
 */
int kn_lease_check(kn_lease *l, kn_error *err);

/*
 * kn_lease_release() - give the lease up, drop any break signal still
 * pending and restore the thread's signal mask.  A writer waiting for the
 * lease goes on at once.  Safe on a lease not held.
 */
void kn_lease_release(kn_lease *l);

#endif
