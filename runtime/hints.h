/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_HINTS_H
#define KENNEL_HINTS_H

/*
 * What to tell a user whose host stops the sandbox.  Each function reads
 * the host's settings and returns a sentence with the fix, or NULL when
 * nothing known explains the failure.  The returned string is static.
 */

/* kn_hint_userns() - why creating a user namespace failed with @err. */
const char *kn_hint_userns(int err);

/*
 * kn_hint_setup() - why a privileged step inside a fresh user namespace
 * (writing the id map, mounting) failed with @err: typically Ubuntu's
 * AppArmor restriction on unprivileged user namespaces.
 */
const char *kn_hint_setup(int err);

#endif
