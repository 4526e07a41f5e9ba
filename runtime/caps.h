/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_CAPS_H
#define KENNEL_CAPS_H

#include "error.h"

/*
 * kn_caps_drop_all() - leave the calling thread with no capabilities at
 * all and no way back: every bounding-set bit dropped, ambient cleared,
 * securebits NOROOT/NO_SETUID_FIXUP/NO_CAP_AMBIENT_RAISE set and locked
 * (so even uid 0 inside gains nothing at execve), then the effective,
 * permitted and inheritable sets emptied.  Call it last, after every
 * step that needs a capability (setresuid, mounts, sethostname).
 * Return: 0 or -errno with @err set.
 */
int kn_caps_drop_all(kn_error *err);

/*
 * kn_caps_check_empty() - verify (from /proc/self/status semantics, via
 * libcap and prctl) that all five sets are empty.
 * Return: 0 when empty, -EPERM with @err naming the set otherwise.
 */
int kn_caps_check_empty(kn_error *err);

#endif
