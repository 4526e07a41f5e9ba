/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_MOUNT_H
#define KENNEL_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "idmap.h"
#include "spec.h"

/*
 * The host-side half of the filesystem, taken while the child still has
 * the caller's credentials: the rootfs and every bind source are cloned
 * (open_tree) then, so a path only the caller may traverse (a build tree
 * under a 0700 home, run as root with the sandbox mapped to another uid)
 * still works once the child has switched to the sandbox's uid.
 */
typedef struct kn_mount_prep {
	int root_fd;    /* O_PATH fd of the read-only rootfs clone, attached over root.path */
	int *bind_fds;  /* one per spec mount: the detached clone of a bind's source, or -1 */
	bool *bind_dir; /* whether that source is a directory */
	size_t n;
} kn_mount_prep;

/*
 * kn_mount_prepare() - steps 1 and 2 of the sequence (see mount.c): make
 * every mount private, clone the rootfs read-only/nosuid/nodev and attach
 * it over its own path, and clone each bind source.  Runs in the child in
 * its new user and mount namespaces, before it changes uid.
 * Return: 0 and @prep filled, or -errno with @err set.
 */
int kn_mount_prepare(const kn_spec *spec, kn_mount_prep *prep, kn_error *err);

/* kn_mount_prep_release() - close what kn_mount_prepare() opened; safe twice. */
void kn_mount_prep_release(kn_mount_prep *prep);

/*
 * kn_mount_setup_root() - the rest: build the sandbox's filesystem and
 * enter it.  Runs in the child with the id maps written and the process
 * at its mapped uid/gid.  After it returns, "/" is the read-only rootfs,
 * every spec mount is in place, the default devices exist, the masked and
 * read-only paths are applied and the host's tree is unmounted.  Mount
 * targets are resolved with openat2(RESOLVE_IN_ROOT) and mounted by fd,
 * so a symlink in the rootfs cannot redirect a mount to the host.  @plan
 * tells which gids are mapped (a devpts gid= option naming an unmapped gid
 * is dropped).  Consumes @prep's bind clones.
 * Return: 0 or -errno with @err set ("mount /dev/pts: ...").
 */
int kn_mount_setup_root(const kn_spec *spec, kn_mount_prep *prep, const kn_idmap_plan *plan,
			void (*warn_cb)(const char *msg), kn_error *err);

#endif
