/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "hints.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

static const char apparmor_fix[] =
	"AppArmor restricts unprivileged user namespaces on this host (Ubuntu 23.10+): "
	"sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or install an AppArmor profile "
	"for kennel with 'userns,'";

static long read_long(const char *path)
{
	char buf[64];

	if (kn_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

const char *kn_hint_userns(int err)
{
	if (err != EPERM && err != ENOSPC && err != EINVAL && err != EUSERS)
		return NULL;
	if (read_long("/proc/sys/kernel/unprivileged_userns_clone") == 0 && geteuid() != 0)
		return "unprivileged user namespaces are disabled: sudo sysctl -w kernel.unprivileged_userns_clone=1 "
		       "(and add it to /etc/sysctl.d/ to keep it)";
	if (read_long("/proc/sys/user/max_user_namespaces") == 0)
		return "user namespaces are disabled (user.max_user_namespaces is 0): sudo sysctl -w user.max_user_namespaces=15000";
	if (err == ENOSPC || err == EUSERS)
		return "the limit of user namespaces is reached: raise user.max_user_namespaces "
		       "(sudo sysctl -w user.max_user_namespaces=15000)";
	if (read_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
		return apparmor_fix;
	if (err == EPERM)
		return "user namespaces are not allowed here: inside a container, allow them "
		       "(e.g. podman/docker --security-opt seccomp=unconfined), or check the host's sysctls";
	return NULL;
}

const char *kn_hint_setup(int err)
{
	if (err != EPERM && err != EACCES)
		return NULL;
	if (read_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1 && geteuid() != 0)
		return apparmor_fix;
	return NULL;
}
