/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_SESSION_H
#define KENNEL_SESSION_H

/*
 * A sandbox's files on the host, in kennel's runtime directory:
 *
 *   RUNTIME/sessions/ID/                 0700, the caller's
 *     managed-settings.json              Claude Code's managed settings (bound read-only
 *                                        at /etc/claude-code/managed-settings.json)
 *     shared/                            bound read-only at /run/kennel (hook_proto.h)
 *       policy.sock                      the hook server's socket
 *
 * RUNTIME is $XDG_RUNTIME_DIR/kennel, /run/kennel as root, else
 * /tmp/kennel-UID (kn_runtime_dir()).  Removed when the sandbox ends.
 */

#include "error.h"

typedef struct kn_session {
	char id[33];
	char *dir;
	char *shared;
	char *socket;
	char *settings;
} kn_session;

/*
 * kn_runtime_dir() - kennel's runtime directory, created 0700 when
 * missing; an existing one must be a directory of the caller's that
 * nobody else can write.  Return: malloc'd path, or NULL with @err set.
 */
char *kn_runtime_dir(kn_error *err);

/*
 * kn_session_create() - a new session with a random id (audit.h
 * kn_session_id) and its directories.  Return: 0 or -errno with @err set.
 */
int kn_session_create(kn_session *s, kn_error *err);

/*
 * kn_session_write_settings() - write the managed settings: every hook
 * event Claude Code has (PreToolUse and PermissionRequest for all tools)
 * runs the shim at @shim_path with explicit timeouts,
 * allowManagedHooksOnly true, disableAllHooks false, and the environment
 * the sandbox needs (DISABLE_AUTOUPDATER=1).  Return: 0 or -errno.
 */
int kn_session_write_settings(const kn_session *s, const char *shim_path, kn_error *err);

/* kn_session_remove() - remove the session's files and free @s; safe twice. */
void kn_session_remove(kn_session *s);

/*
 * kn_hook_shim_host_path() - where the shim binary is on the host: beside
 * this kennel, in the build tree's hooks/, or in the install's libexec
 * dir.  Return: malloc'd path, or NULL with @err set.
 */
char *kn_hook_shim_host_path(kn_error *err);

#endif
