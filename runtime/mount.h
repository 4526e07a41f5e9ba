/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_MOUNT_H
#define KENNEL_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "idmap.h"
#include "spec.h"

/*
 * kn_mount_setup_root() - build the sandbox's filesystem and enter it.
 * Runs in the child, inside the new user and mount namespaces, with the
 * id maps written and the process already at its mapped uid/gid.  After
 * it returns, "/" is the read-only rootfs, every spec mount is in place,
 * the default devices exist, the masked and read-only paths are applied
 * and the host's tree is unmounted.  Mount targets are resolved with
 * openat2(RESOLVE_IN_ROOT) and mounted by fd, so a symlink in the rootfs
 * cannot redirect a mount to the host.  @plan tells which gids are
 * mapped (a devpts gid= option naming an unmapped gid is dropped).
 * Return: 0 or -errno with @err set ("mount /dev/pts: ...").
 */
int kn_mount_setup_root(const kn_spec *spec, const kn_idmap_plan *plan,
			void (*warn_cb)(const char *msg), kn_error *err);

#endif
