/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "caps.h"

#include <errno.h>
#include <stddef.h>
#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>

static void cap_freep(cap_t *c)
{
	if (*c)
		cap_free(*c);
}

#define _cleanup_cap_ __attribute__((cleanup(cap_freep)))

int kn_caps_drop_all(kn_error *err)
{
	_cleanup_cap_ cap_t empty = NULL;
	unsigned long bits;

	/*
	 * Bounding set: needs CAP_SETPCAP, so before the sets are emptied.  Up
	 * to 63, not CAP_LAST_CAP: the running kernel may know more capabilities
	 * than the headers we were built with (EINVAL past its last one).
	 */
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return kn_error_set(err, errno, "drop capability %d from the bounding set", cap);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return kn_error_set(err, errno, "clear ambient capabilities");
	bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	       SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
	       SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED |
	       SECBIT_KEEP_CAPS_LOCKED;
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return kn_error_set(err, errno, "set securebits");
	empty = cap_init();
	if (!empty)
		return kn_error_set(err, errno, "cap_init");
	if (cap_set_proc(empty) < 0)
		return kn_error_set(err, errno, "clear capability sets");
	return 0;
}

int kn_caps_check_empty(kn_error *err)
{
	_cleanup_cap_ cap_t now = cap_get_proc();
	_cleanup_cap_ cap_t empty = cap_init();

	if (!now || !empty)
		return kn_error_set(err, errno, "read capabilities");
	if (cap_compare(now, empty) != 0)
		return kn_error_setx(err, EPERM, "capability sets are not empty");
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			return kn_error_setx(err, EPERM, "bounding set still holds capability %d", cap);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			return kn_error_setx(err, EPERM, "ambient set still holds capability %d", cap);
	}
	return 0;
}
