/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sandbox's filesystem, built in the child's private mount namespace.
 *
 * How this works, in order:
 *   1. make every inherited mount private, so nothing propagates to the host;
 *   2. clone the rootfs (open_tree), make the clone read-only, nosuid and
 *      nodev, and attach it over the rootfs path: from here on nothing
 *      kennel does can write into the rootfs directory itself;
 *   3. when a mount target is missing from the rootfs (a --bind onto a new
 *      path), put an overlay over the rootfs clone whose upper layer is a
 *      small private tmpfs: the mount points are created there, the rootfs
 *      stays untouched, and the overlay is made read-only in step 6;
 *      attach the spec's mounts in order (a /dev tmpfs first when the spec
 *      has none); each target is opened inside the new root with
 *      openat2(RESOLVE_IN_ROOT) and the mount is moved onto that fd; a
 *      missing target is created only where the parent is writable
 *      (a tmpfs of ours), never in the rootfs;
 *   4. populate /dev: bind the host's null zero full random urandom tty,
 *      symlinks for ptmx and the fd links, then make the /dev tmpfs
 *      read-only;
 *   5. apply namespaced sysctls through the new procfs (checked to be a
 *      procfs first), then the masked paths (a /dev/null bind or an empty
 *      read-only tmpfs) and the read-only paths (a read-only bind of
 *      themselves);
 *   6. make the root read-only (the overlay, when there is one), pivot_root
 *      into it and detach the old one.
 */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct mount_opts {
	uint64_t attr;   /* MOUNT_ATTR_* to set */
	bool recursive;  /* rbind */
	char **data;     /* key[=value] strings for fsconfig */
};

static void mount_opts_free(struct mount_opts *o)
{
	kn_strv_free(o->data);
	o->data = NULL;
}

static int resolve_in_root(int root_fd, const char *path, int extra_flags)
{
	struct open_how how = {
		.flags = (uint64_t) (O_PATH | O_CLOEXEC | extra_flags),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	const char *rel = path;
	int fd;

	while (*rel == '/')
		rel++;
	if (!*rel)
		rel = ".";
	fd = (int) syscall(SYS_openat2, root_fd, rel, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/*
 * Open @dest inside the root, creating it (and its parents) when missing.
 * Creation happens only on writable filesystems inside the new root: the
 * rootfs clone is read-only, so a missing target in it is a clear error.
 */
static int open_mountpoint(int root_fd, const char *dest, bool want_dir, kn_error *err)
{
	_cleanup_free_ char *copy = NULL;
	char *p;
	int fd;

	fd = resolve_in_root(root_fd, dest, 0);
	if (fd >= 0)
		return fd;
	if (fd != -ENOENT)
		return kn_error_set(err, -fd, "open mount point %s", dest);

	copy = kn_xstrdup(dest);
	p = copy;
	while (*p == '/')
		p++;
	for (;;) {
		char *slash = strchr(p, '/');
		bool last;
		_cleanup_close_ int parent = -1;
		char *name;
		int r;

		if (slash)
			*slash = '\0';
		last = !slash || slash[1] == '\0';
		fd = resolve_in_root(root_fd, copy, 0);
		if (fd >= 0) {
			if (last)
				return fd;
			close(fd);
			goto next;
		}
		if (fd != -ENOENT)
			return kn_error_set(err, -fd, "open %s", copy);
		name = strrchr(copy, '/');
		if (name && name != copy) {
			*name = '\0';
			parent = resolve_in_root(root_fd, copy, O_DIRECTORY);
			*name = '/';
			name++;
		} else {
			parent = dup(root_fd);
			name = name ? name + 1 : copy;
		}
		if (parent < 0)
			return kn_error_set(err, parent < -1 ? -parent : errno, "open parent of %s", copy);
		if (last && !want_dir) {
			r = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
			if (r >= 0)
				close(r);
		} else {
			r = mkdirat(parent, name, 0755);
		}
		if (r < 0 && errno != EEXIST) {
			if (errno == EROFS)
				return kn_error_setx(err, EROFS,
						     "mount point %s does not exist in the rootfs, which is read-only: create %s in the image",
						     dest, copy);
			return kn_error_set(err, errno, "create mount point %s", copy);
		}
		if (last)
			break;
next:
		if (!slash)
			break;
		*slash = '/';
		p = slash + 1;
	}
	fd = resolve_in_root(root_fd, dest, 0);
	if (fd < 0)
		return kn_error_set(err, -fd, "open mount point %s", dest);
	return fd;
}

static int parse_options(char *const *options, struct mount_opts *o, kn_error *err)
{
	static const struct {
		const char *name;
		uint64_t attr;
	} flags[] = {
		{ "ro", MOUNT_ATTR_RDONLY },
		{ "nosuid", MOUNT_ATTR_NOSUID },
		{ "nodev", MOUNT_ATTR_NODEV },
		{ "noexec", MOUNT_ATTR_NOEXEC },
		{ "relatime", MOUNT_ATTR_RELATIME },
		{ "noatime", MOUNT_ATTR_NOATIME },
		{ "strictatime", MOUNT_ATTR_STRICTATIME },
		{ "nodiratime", MOUNT_ATTR_NODIRATIME },
		{ "nosymfollow", MOUNT_ATTR_NOSYMFOLLOW },
	};
	/* Accepted and meaningless here: everything is private, binds are recursive. */
	static const char *const ignored[] = {
		"rw", "suid", "dev", "exec", "atime", "diratime", "bind", "rbind", "newinstance",
		"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
		"runbindable", "async", "sync", "loud", "silent", NULL,
	};

	memset(o, 0, sizeof(*o));
	o->data = kn_xcalloc(1, sizeof(char *));
	for (size_t i = 0; options && options[i]; i++) {
		const char *opt = options[i];
		bool done = false;

		if (!strcmp(opt, "rbind"))
			o->recursive = true;
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]) && !done; k++)
			if (!strcmp(opt, flags[k].name)) {
				o->attr |= flags[k].attr;
				done = true;
			}
		for (size_t k = 0; ignored[k] && !done; k++)
			if (!strcmp(opt, ignored[k]))
				done = true;
		if (done)
			continue;
		if (!strcmp(opt, "idmap") || !strcmp(opt, "ridmap") || !strcmp(opt, "tmpcopyup")) {
			mount_opts_free(o);
			return kn_error_setx(err, ENOTSUP, "mount option '%s' is not supported", opt);
		}
		kn_strv_append(&o->data, opt);
	}
	return 0;
}

/* Attach the detached mount @mnt_fd onto @target_fd. */
static int attach(int mnt_fd, int target_fd, const char *dest, kn_error *err)
{
	if (move_mount(mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return kn_error_set(err, errno, "attach mount on %s", dest);
	return 0;
}

static int set_attr(int mnt_fd, uint64_t attr, bool recursive, const char *what, kn_error *err)
{
	struct mount_attr ma = { .attr_set = attr };

	if (attr & MOUNT_ATTR__ATIME)
		ma.attr_clr = MOUNT_ATTR__ATIME;
	if (mount_setattr(mnt_fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &ma, sizeof(ma)) < 0)
		return kn_error_set(err, errno, "set mount flags on %s", what);
	return 0;
}

/* Clone a host (or in-root) path as a detached mount with @attr. */
static int clone_tree(int dfd, const char *path, uint64_t attr, kn_error *err)
{
	int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE;
	_cleanup_close_ int fd = -1;
	int r;

	if (!*path)
		flags |= AT_EMPTY_PATH;
	fd = open_tree(dfd, path, (unsigned) flags);
	if (fd < 0)
		return kn_error_set(err, errno, "bind %s", *path ? path : "(fd)");
	r = set_attr(fd, attr, true, *path ? path : "(fd)", err);
	if (r < 0)
		return r;
	return steal_fd(&fd);
}

/* Read the kernel's own explanation of an fsconfig failure, if any. */
static void fs_log(int fsfd, char *buf, size_t cap)
{
	ssize_t n;

	buf[0] = '\0';
	n = read(fsfd, buf, cap - 1);
	if (n > 2) {
		buf[n] = '\0';
		if (buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		memmove(buf, buf + 2, (size_t) n - 1); /* drop the "e " prefix */
	} else {
		buf[0] = '\0';
	}
}

/* Create a fresh filesystem of @type as a detached mount. */
static int new_fs(const char *type, const char *source, char *const *data, uint64_t attr,
		  const char *dest, kn_error *err)
{
	_cleanup_close_ int fsfd = fsopen(type, FSOPEN_CLOEXEC);
	char log[256];
	int mfd;

	if (fsfd < 0)
		return kn_error_set(err, errno, "%s on %s", type, dest);
	if (source && *source && fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return kn_error_set(err, errno, "%s on %s: source", type, dest);
	for (size_t i = 0; data && data[i]; i++) {
		_cleanup_free_ char *kv = kn_xstrdup(data[i]);
		char *eq = strchr(kv, '=');
		int r;

		if (eq) {
			*eq = '\0';
			r = fsconfig(fsfd, FSCONFIG_SET_STRING, kv, eq + 1, 0);
		} else {
			r = fsconfig(fsfd, FSCONFIG_SET_FLAG, kv, NULL, 0);
		}
		if (r < 0) {
			int saved = errno;

			fs_log(fsfd, log, sizeof(log));
			return kn_error_set(err, saved, "%s on %s: option %s%s%s", type, dest, data[i],
					    log[0] ? ": " : "", log);
		}
	}
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int saved = errno;

		fs_log(fsfd, log, sizeof(log));
		if (log[0])
			return kn_error_set(err, saved, "%s on %s (%s)", type, dest, log);
		return kn_error_set(err, saved, "%s on %s", type, dest);
	}
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned) attr);
	if (mfd < 0)
		return kn_error_set(err, errno, "%s on %s", type, dest);
	return mfd;
}

static bool gid_mapped(const kn_idmap_plan *plan, unsigned long gid)
{
	for (size_t i = 0; i < plan->n_gid; i++)
		if (gid >= plan->gid[i].container_id && gid - plan->gid[i].container_id < plan->gid[i].size)
			return true;
	return false;
}

struct setup {
	const kn_spec *spec;
	const kn_idmap_plan *plan;
	void (*warn_cb)(const char *msg);
	int root_fd;
	bool have_dev_tmpfs;
};

static int do_mount(struct setup *s, const kn_mount *m, int bind_fd, bool bind_is_dir, kn_error *err)
{
	struct mount_opts o;
	_cleanup_close_ int target = -1;
	_cleanup_close_ int mnt = -1;
	bool is_bind = !strcmp(m->type, "bind");
	bool want_dir = true;
	int r;

	r = parse_options(m->options, &o, err);
	if (r < 0)
		return kn_error_wrap(err, "mount %s", m->destination);

	if (is_bind) {
		if (bind_fd < 0) {
			mount_opts_free(&o);
			return kn_error_setx(err, EINVAL, "mount %s: bind source was not prepared", m->destination);
		}
		want_dir = bind_is_dir;
		/* Binds never carry devices or setuid bits into the sandbox. */
		mnt = bind_fd;
		r = set_attr(bind_fd, o.attr | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true, m->source, err);
		if (r < 0) {
			mount_opts_free(&o);
			return kn_error_wrap(err, "mount %s", m->destination);
		}
	} else if (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2")) {
		struct statfs sfs;

		if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
			/* read-only: the sandbox may look at its limits, never change them */
			mnt = new_fs("cgroup2", "cgroup2", NULL,
				     o.attr | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
				     m->destination, err);
		} else {
			/* cgroup v1 hierarchies cannot be mounted from a user namespace: show none. */
			if (s->warn_cb)
				s->warn_cb("the host has no unified cgroup v2 hierarchy: /sys/fs/cgroup is empty in the sandbox");
			mnt = new_fs("tmpfs", "cgroup", NULL, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
				     m->destination, err);
		}
	} else {
		char **data = o.data;

		if (!strcmp(m->type, "devpts")) {
			/* In a single-id user namespace gid 5 (tty) does not exist: drop it rather than fail. */
			for (size_t i = 0; data && data[i]; i++) {
				if (!strncmp(data[i], "gid=", 4) && !gid_mapped(s->plan, strtoul(data[i] + 4, NULL, 10))) {
					free(data[i]);
					memmove(&data[i], &data[i + 1], (kn_strv_len(&data[i + 1]) + 1) * sizeof(char *));
					i--;
				}
			}
		}
		/* /sys is read-only whatever the spec says: it is the host's kernel. */
		if (!strcmp(m->type, "sysfs"))
			o.attr |= MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
		mnt = new_fs(m->type, m->source, data, o.attr, m->destination, err);
		if (mnt < 0 && !strcmp(m->type, "sysfs") && (err->code == EPERM || err->code == EACCES)) {
			/* Like runc rootless: a read-only bind of the host's /sys when sysfs cannot be mounted. */
			if (s->warn_cb)
				s->warn_cb("cannot mount a new sysfs here: /sys is a read-only bind of the host's /sys");
			kn_error_clear(err);
			mnt = clone_tree(AT_FDCWD, "/sys", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
		}
		if (mnt >= 0 && !strcmp(m->type, "proc")) {
			struct statfs sfs;

			if (fstatfs(mnt, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC) {
				mount_opts_free(&o);
				return kn_error_setx(err, EIO, "mount %s: the new mount is not a procfs", m->destination);
			}
		}
	}
	mount_opts_free(&o);
	if (mnt < 0)
		return kn_error_wrap(err, "mount %s", m->destination);

	target = open_mountpoint(s->root_fd, m->destination, want_dir, err);
	if (target < 0)
		return kn_error_wrap(err, "mount %s", m->destination);
	r = attach(mnt, target, m->destination, err);
	if (r < 0)
		return kn_error_wrap(err, "mount %s", m->destination);
	if (!strcmp(m->destination, "/dev") && !strcmp(m->type, "tmpfs"))
		s->have_dev_tmpfs = true;
	return 0;
}

static int setup_devices(struct setup *s, kn_error *err)
{
	static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty", NULL };
	static const struct {
		const char *target;
		const char *name;
	} links[] = {
		{ "pts/ptmx", "ptmx" },
		{ "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" },
	};
	_cleanup_close_ int dev = resolve_in_root(s->root_fd, "/dev", O_DIRECTORY);
	_cleanup_close_ int dev_mnt = -1;
	int r;

	if (dev < 0)
		return kn_error_set(err, -dev, "open /dev");
	for (size_t i = 0; devices[i]; i++) {
		_cleanup_close_ int tree = -1;
		_cleanup_close_ int target = -1;
		char host[32];
		int fd;

		snprintf(host, sizeof(host), "/dev/%s", devices[i]);
		fd = openat(dev, devices[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0666);
		if (fd < 0 && errno != EEXIST)
			return kn_error_set(err, errno, "create %s", host);
		if (fd >= 0)
			close(fd);
		tree = open_tree(AT_FDCWD, host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (tree < 0)
			return kn_error_set(err, errno, "bind host %s", host);
		r = set_attr(tree, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false, host, err);
		if (r < 0)
			return r;
		target = resolve_in_root(dev, devices[i], O_NOFOLLOW);
		if (target < 0)
			return kn_error_set(err, -target, "open %s", host);
		r = attach(tree, target, host, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i].target, dev, links[i].name) < 0 && errno != EEXIST)
			return kn_error_set(err, errno, "symlink /dev/%s", links[i].name);
	/* Nothing more is created in /dev: make its tmpfs read-only (pts, shm, mqueue stay as mounted). */
	dev_mnt = open_tree(dev, "", OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (dev_mnt < 0)
		return kn_error_set(err, errno, "open /dev mount");
	return set_attr(dev_mnt, MOUNT_ATTR_RDONLY, false, "/dev", err);
}

/* sysctls that belong to the sandbox's own namespaces (as runc allows). */
static bool sysctl_namespaced(const char *key)
{
	static const char *const exact[] = {
		"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
		"kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", "kernel.domainname", NULL,
	};

	for (size_t i = 0; exact[i]; i++)
		if (!strcmp(key, exact[i]))
			return true;
	return !strncmp(key, "fs.mqueue.", 10) || !strncmp(key, "net.", 4);
}

static int apply_sysctls(struct setup *s, kn_error *err)
{
	for (size_t i = 0; i < s->spec->n_sysctls; i++) {
		const kn_sysctl *sc = &s->spec->sysctls[i];
		_cleanup_free_ char *path = NULL;
		_cleanup_close_ int dir = -1;
		struct statfs sfs;
		int fd;
		ssize_t n;

		if (!sysctl_namespaced(sc->key) || strstr(sc->key, "..") || strchr(sc->key, '/'))
			return kn_error_setx(err, EPERM, "sysctl %s: not namespaced: it would change the host", sc->key);
		dir = resolve_in_root(s->root_fd, "/proc/sys", O_DIRECTORY);
		if (dir < 0)
			return kn_error_set(err, -dir, "sysctl %s: open /proc/sys", sc->key);
		if (fstatfs(dir, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
			return kn_error_setx(err, EIO, "sysctl %s: /proc/sys is not a procfs", sc->key);
		path = kn_xstrdup(sc->key);
		for (char *p = path; *p; p++)
			if (*p == '.')
				*p = '/';
		fd = openat(dir, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return kn_error_set(err, errno, "sysctl %s", sc->key);
		n = write(fd, sc->value, strlen(sc->value));
		close(fd);
		if (n < 0)
			return kn_error_set(err, errno, "sysctl %s=%s", sc->key, sc->value);
	}
	return 0;
}

static int mask_paths(struct setup *s, kn_error *err)
{
	for (size_t i = 0; s->spec->masked_paths && s->spec->masked_paths[i]; i++) {
		const char *p = s->spec->masked_paths[i];
		_cleanup_close_ int target = resolve_in_root(s->root_fd, p, O_NOFOLLOW);
		_cleanup_close_ int mnt = -1;
		struct stat st;
		int r;

		if (target == -ENOENT)
			continue;
		if (target < 0)
			return kn_error_set(err, -target, "mask %s", p);
		if (fstat(target, &st) < 0)
			return kn_error_set(err, errno, "mask %s", p);
		if (S_ISDIR(st.st_mode))
			mnt = new_fs("tmpfs", "tmpfs", NULL,
				     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, p, err);
		else
			mnt = clone_tree(AT_FDCWD, "/dev/null", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
		if (mnt < 0)
			return kn_error_wrap(err, "mask %s", p);
		r = attach(mnt, target, p, err);
		if (r < 0)
			return kn_error_wrap(err, "mask %s", p);
	}
	return 0;
}

static int readonly_paths(struct setup *s, kn_error *err)
{
	for (size_t i = 0; s->spec->readonly_paths && s->spec->readonly_paths[i]; i++) {
		const char *p = s->spec->readonly_paths[i];
		_cleanup_close_ int target = resolve_in_root(s->root_fd, p, O_NOFOLLOW);
		_cleanup_close_ int mnt = -1;
		int r;

		if (target == -ENOENT)
			continue;
		if (target < 0)
			return kn_error_set(err, -target, "read-only %s", p);
		mnt = clone_tree(target, "", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
		if (mnt < 0)
			return kn_error_wrap(err, "read-only %s", p);
		r = attach(mnt, target, p, err);
		if (r < 0)
			return kn_error_wrap(err, "read-only %s", p);
	}
	return 0;
}

static int enter_root(int root_fd, kn_error *err)
{
	/* pivot_root(".", "."): the old root ends up stacked on "." and is detached at once. */
	if (fchdir(root_fd) < 0)
		return kn_error_set(err, errno, "chdir to the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return kn_error_set(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return kn_error_set(err, errno, "detach the host's root");
	if (chdir("/") < 0)
		return kn_error_set(err, errno, "chdir /");
	return 0;
}

/*
 * Does some mount target not exist in the rootfs, outside any mount that
 * comes before it (which kennel can create it in)?  Then the root needs a
 * writable upper layer for the mount points.
 */
static bool needs_overlay(const kn_spec *spec, int root_fd)
{
	bool has_dev = false;

	for (size_t i = 0; i < spec->n_mounts; i++) {
		const char *d = spec->mounts[i].destination;
		bool covered = false;
		int fd;

		if (!strcmp(d, "/dev"))
			has_dev = true;
		fd = resolve_in_root(root_fd, d, 0);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		for (size_t j = 0; j < i && !covered; j++) {
			const char *p = spec->mounts[j].destination;
			size_t len = strlen(p);

			if (len > 1 && !strncmp(d, p, len) && d[len] == '/')
				covered = true;
		}
		if (!covered)
			return true;
	}
	if (!has_dev) {
		int fd = resolve_in_root(root_fd, "/dev", 0);

		if (fd < 0)
			return true;
		close(fd);
	}
	return false;
}

/*
 * Mount an overlay over the rootfs clone: lower = the clone (@root_fd),
 * upper/work on a fresh 1 MiB tmpfs.  The layers are named through
 * /proc/self/fd, so nothing is looked up by host path again.
 * Return: the overlay's mount fd (attached over the rootfs), or -errno.
 */
/*
 * Create @dest (and the directories leading to it) in the overlay's upper
 * layer @upper before the overlay is mounted.  Created afterwards, through
 * the overlay, a new entry in a directory of the image owned by a uid the
 * sandbox does not map (root's image, run as root with --host-uid) would
 * be refused: overlayfs copies the directory up with its owner first.  In
 * the upper layer everything is ours.  Only real directories of the image
 * are followed: at a symlink or a file on the way, nothing more is made
 * here (the mount code then resolves the path inside the root, as always).
 */
static void precreate_in_upper(int lower, int upper, const char *dest, bool want_dir)
{
	_cleanup_free_ char *path = kn_xstrdup(dest);
	char *p = path;

	while (*p == '/')
		p++;
	if (!*p)
		return;
	for (;;) {
		char *slash = strchr(p, '/');
		bool last = !slash || !slash[1];
		const char *rel = path;
		struct stat st;

		if (slash)
			*slash = '\0';
		while (*rel == '/')
			rel++;
		if (fstatat(lower, rel, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!S_ISDIR(st.st_mode))
				return;
			if (mkdirat(upper, rel, (st.st_mode & 0777) | 0700) < 0 && errno != EEXIST)
				return;
		} else if (errno == ENOENT) {
			if (last && !want_dir) {
				int fd = openat(upper, rel, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);

				if (fd >= 0)
					close(fd);
				return;
			}
			if (mkdirat(upper, rel, 0755) < 0 && errno != EEXIST)
				return;
		} else {
			return;
		}
		if (last)
			return;
		*slash = '/';
		p = slash + 1;
	}
}

static int overlay_root(int root_fd, const kn_spec *spec, const kn_mount_prep *prep, kn_error *err)
{
	_cleanup_close_ int tmp = new_fs("tmpfs", "tmpfs", (char *[]) { "mode=755", "size=1m", NULL },
					 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "the root's upper layer", err);
	_cleanup_close_ int upper = -1, work = -1, ovl = -1;
	char lower_s[64], upper_s[64], work_s[64];
	char *data[4];

	if (tmp < 0)
		return -err->code;
	if (mkdirat(tmp, "upper", 0755) < 0 || mkdirat(tmp, "work", 0700) < 0)
		return kn_error_set(err, errno, "overlay: upper layer");
	upper = openat(tmp, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC);
	work = openat(tmp, "work", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (upper < 0 || work < 0)
		return kn_error_set(err, errno, "overlay: upper layer");
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const kn_mount *m = &spec->mounts[i];
		bool is_bind = m->type && !strcmp(m->type, "bind");

		precreate_in_upper(root_fd, upper, m->destination, !is_bind || (i < prep->n && prep->bind_dir[i]));
	}
	precreate_in_upper(root_fd, upper, "/dev", true);
	snprintf(lower_s, sizeof(lower_s), "lowerdir=/proc/self/fd/%d", root_fd);
	snprintf(upper_s, sizeof(upper_s), "upperdir=/proc/self/fd/%d", upper);
	snprintf(work_s, sizeof(work_s), "workdir=/proc/self/fd/%d", work);
	data[0] = lower_s;
	data[1] = upper_s;
	data[2] = work_s;
	data[3] = NULL;
	ovl = new_fs("overlay", "kennel-root", data, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "/ (overlay)", err);
	if (ovl < 0)
		return -err->code;
	if (move_mount(ovl, "", root_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return kn_error_set(err, errno, "overlay: attach over the rootfs");
	return steal_fd(&ovl);
}

void kn_mount_prep_release(kn_mount_prep *prep)
{
	if (prep->root_fd >= 0)
		close(prep->root_fd);
	prep->root_fd = -1;
	for (size_t i = 0; prep->bind_fds && i < prep->n; i++)
		if (prep->bind_fds[i] >= 0)
			close(prep->bind_fds[i]);
	free(prep->bind_fds);
	free(prep->bind_dir);
	prep->bind_fds = NULL;
	prep->bind_dir = NULL;
	prep->n = 0;
}

int kn_mount_prepare(const kn_spec *spec, kn_mount_prep *prep, kn_error *err)
{
	_cleanup_close_ int tree = -1;
	struct stat st;

	prep->root_fd = -1;
	prep->n = spec->n_mounts;
	prep->bind_fds = kn_xcalloc(spec->n_mounts ? spec->n_mounts : 1, sizeof(int));
	prep->bind_dir = kn_xcalloc(spec->n_mounts ? spec->n_mounts : 1, sizeof(bool));
	for (size_t i = 0; i < spec->n_mounts; i++)
		prep->bind_fds[i] = -1;

	/* 1: nothing we do below may propagate to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return kn_error_set(err, errno, "make mounts private");

	/* 2: the rootfs, read-only from the first moment. */
	if (stat(spec->root_path, &st) < 0)
		return kn_error_set(err, errno, "rootfs %s", spec->root_path);
	if (!S_ISDIR(st.st_mode))
		return kn_error_setx(err, ENOTDIR, "rootfs %s is not a directory: pass an unpacked root filesystem", spec->root_path);
	tree = clone_tree(AT_FDCWD, spec->root_path, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, err);
	if (tree < 0)
		return kn_error_wrap(err, "rootfs");
	if (move_mount(tree, "", AT_FDCWD, spec->root_path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return kn_error_set(err, errno, "rootfs: attach %s", spec->root_path);
	prep->root_fd = open(spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (prep->root_fd < 0)
		return kn_error_set(err, errno, "rootfs: open %s", spec->root_path);

	for (size_t i = 0; i < spec->n_mounts; i++) {
		const kn_mount *m = &spec->mounts[i];
		int fd;

		if (strcmp(m->type, "bind") != 0)
			continue;
		if (!m->source || !*m->source)
			return kn_error_setx(err, EINVAL, "mount %s: bind without a source", m->destination);
		fd = clone_tree(AT_FDCWD, m->source, 0, err);
		if (fd < 0)
			return kn_error_wrap(err, "mount %s", m->destination);
		prep->bind_fds[i] = fd;
		if (fstat(fd, &st) < 0)
			return kn_error_set(err, errno, "mount %s: bind %s", m->destination, m->source);
		prep->bind_dir[i] = S_ISDIR(st.st_mode);
	}
	return 0;
}

int kn_mount_setup_root(const kn_spec *spec, kn_mount_prep *prep, const kn_idmap_plan *plan,
			void (*warn_cb)(const char *msg), kn_error *err)
{
	struct setup s = { .spec = spec, .plan = plan, .warn_cb = warn_cb, .root_fd = prep->root_fd };
	_cleanup_close_ int ovl = -1;
	bool spec_has_dev = false;
	int r;

	if (needs_overlay(spec, prep->root_fd)) {
		ovl = overlay_root(prep->root_fd, spec, prep, err);
		if (ovl < 0)
			return kn_error_wrap(err, "rootfs");
		/* From here on the root is the overlay's top. */
		s.root_fd = ovl;
	}

	/* 3: the spec's mounts, a /dev tmpfs first when it brings none. */
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (!strcmp(spec->mounts[i].destination, "/dev"))
			spec_has_dev = true;
	if (!spec_has_dev) {
		kn_mount dev = { "/dev", "tmpfs", "tmpfs", (char *[]) { "nosuid", "noexec", "mode=755", "size=65536k", NULL } };

		r = do_mount(&s, &dev, -1, false, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < spec->n_mounts; i++) {
		int fd = prep->bind_fds[i];

		/* do_mount takes ownership of the clone */
		prep->bind_fds[i] = -1;
		r = do_mount(&s, &spec->mounts[i], fd, prep->bind_dir[i], err);
		if (r < 0)
			return r;
	}

	/* 4: devices. */
	if (s.have_dev_tmpfs) {
		r = setup_devices(&s, err);
		if (r < 0)
			return r;
	}

	/* 5: sysctls, masked and read-only paths. */
	r = apply_sysctls(&s, err);
	if (r < 0)
		return r;
	r = mask_paths(&s, err);
	if (r < 0)
		return r;
	r = readonly_paths(&s, err);
	if (r < 0)
		return r;

	/* 6: enter, the overlay read-only like the rootfs under it. */
	if (ovl >= 0) {
		r = set_attr(ovl, MOUNT_ATTR_RDONLY, false, "/", err);
		if (r < 0)
			return r;
	}
	return enter_root(s.root_fd, err);
}
