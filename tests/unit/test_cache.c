/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cache paths, the lock file, --rootfs resolution, and the read lease a pull takes on a local archive. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "lease.h"
#include "util.h"

static const char *hex_a = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char *hex_b = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

static char tmpdir[64];

static int setup(void **state)
{
	(void) state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kennel-test-cache-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void) state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_sha256_hex(void **state)
{
	(void) state;
	assert_true(kn_is_sha256_hex(hex_a));
	assert_false(kn_is_sha256_hex("0123"));
	assert_false(kn_is_sha256_hex("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(kn_is_sha256_hex(NULL));
	assert_false(kn_is_sha256_hex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"));
}

static void test_lock_pin_and_lookup(void **state)
{
	kn_error err = KN_ERROR_INIT;
	char path[128], hex[65];
	char *source = NULL;

	(void) state;
	snprintf(path, sizeof(path), "%s/sub/dir/kennel.lock", tmpdir);
	assert_int_equal(kn_lock_lookup(path, "default", hex, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "kennel rootfs pull"));
	/* creates the file and its directories */
	assert_int_equal(kn_lock_pin(path, "default", "https://x/a.tar.zst", hex_a, &err), 0);
	assert_int_equal(kn_lock_pin(path, "test", "/srv/t.tar", hex_b, &err), 0);
	/* re-pinning replaces, other names stay */
	assert_int_equal(kn_lock_pin(path, "default", "https://x/b.tar.zst", hex_b, &err), 0);
	assert_int_equal(kn_lock_lookup(path, "default", hex, &source, &err), 0);
	assert_string_equal(hex, hex_b);
	assert_string_equal(source, "https://x/b.tar.zst");
	free(source);
	assert_int_equal(kn_lock_lookup(path, "test", hex, NULL, &err), 0);
	assert_string_equal(hex, hex_b);
	assert_int_equal(kn_lock_lookup(path, "nope", hex, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "not pinned"));
	/* names that would confuse --rootfs are refused */
	assert_int_equal(kn_lock_pin(path, "a/b", "x", hex_a, &err), -EINVAL);
	assert_int_equal(kn_lock_pin(path, "sha256:x", "x", hex_a, &err), -EINVAL);
	assert_int_equal(kn_lock_pin(path, "x", "x", "nothex", &err), -EINVAL);
}

static void test_lock_malformed(void **state)
{
	kn_error err = KN_ERROR_INIT;
	char path[128], hex[65];
	FILE *f;

	(void) state;
	snprintf(path, sizeof(path), "%s/bad.lock", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"version\": 1, \"rootfs\": {\"x\": {\"sha256\": \"ABC\"}}}", f);
	fclose(f);
	assert_int_equal(kn_lock_lookup(path, "x", hex, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "rootfs.x.sha256"));
	f = fopen(path, "w");
	fputs("not json", f);
	fclose(f);
	assert_int_equal(kn_lock_lookup(path, "x", hex, NULL, &err), -EINVAL);
	f = fopen(path, "w");
	fputs("{\"version\": 2, \"rootfs\": {}}", f);
	fclose(f);
	assert_int_equal(kn_lock_lookup(path, "x", hex, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "version"));
}

static void test_resolve(void **state)
{
	kn_error err = KN_ERROR_INIT;
	char path[160], lock[160], tree[320];
	char *dir = NULL;
	int fd = -2;

	(void) state;
	/* a directory path is taken as is, with no lock */
	assert_int_equal(kn_rootfs_resolve(tmpdir, NULL, &dir, &fd, &err), 0);
	assert_string_equal(dir, tmpdir);
	assert_int_equal(fd, -1);
	free(dir);
	assert_int_equal(kn_rootfs_resolve("sha256:xyz", NULL, &dir, &fd, &err), -EINVAL);

	/* a cache entry, in the cache KENNEL_CACHE_DIR names */
	{
		snprintf(path, sizeof(path), "%s/cache", tmpdir);
		setenv("KENNEL_CACHE_DIR", path, 1);
		snprintf(tree, sizeof(tree), "%s/sha256-%s/rootfs", path, hex_a);
		assert_int_equal(kn_rootfs_resolve("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
						   NULL, &dir, &fd, &err), -ENOENT);
		assert_non_null(strstr(err.msg, "kennel rootfs pull"));
		{
			char cmd[400];

			snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", tree);
			assert_int_equal(system(cmd), 0);
		}
		snprintf(lock, sizeof(lock), "%s/k.lock", tmpdir);
		assert_int_equal(kn_lock_pin(lock, "pinned", "/x.tar", hex_a, &err), 0);
		assert_int_equal(kn_rootfs_resolve("pinned", lock, &dir, &fd, &err), 0);
		assert_string_equal(dir, tree);
		free(dir);
		if (fd >= 0)
			close(fd);
		assert_int_equal(kn_rootfs_resolve("unpinned", lock, &dir, &fd, &err), -ENOENT);
	}
}

static int make_file(const char *name, char *path, size_t cap)
{
	int fd;

	snprintf(path, cap, "%s/%s", tmpdir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "archive\n", 8), 8);
	close(fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Take a lease, or skip the test where the temporary directory's filesystem has none (overlayfs, NFS). */
static void take_or_skip(kn_lease *l, int fd)
{
	kn_error err = KN_ERROR_INIT;
	int r = kn_lease_take(l, fd, &err);

	if (r == -ENOTSUP || r == -EINVAL) {
		print_message("# no leases in %s: %s\n", tmpdir, err.msg);
		close(fd);
		skip();
	}
	assert_int_equal(r, 0);
}

static bool lease_signal_pending(void)
{
	sigset_t p;

	assert_int_equal(sigpending(&p), 0);
	return sigismember(&p, SIGRTMIN) || sigismember(&p, SIGIO);
}

/* A lease held undisturbed checks clean, and leaves no trace once released. */
static void test_lease_undisturbed(void **state)
{
	kn_error err = KN_ERROR_INIT;
	sigset_t before, after;
	char path[128];
	kn_lease l;
	int fd, other;

	(void) state;
	fd = make_file("a.tar", path, sizeof(path));
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &before), 0);
	take_or_skip(&l, fd);
	assert_int_equal(fcntl(fd, F_GETLEASE), F_RDLCK);
	/* readers do not disturb a read lease */
	other = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(other >= 0);
	close(other);
	assert_int_equal(kn_lease_check(&l, &err), 0);
	assert_int_equal(kn_lease_check(&l, &err), 0);
	kn_lease_release(&l);
	kn_lease_release(&l); /* twice is harmless */
	assert_int_equal(fcntl(fd, F_GETLEASE), F_UNLCK);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &after), 0);
	assert_int_equal(sigismember(&after, SIGRTMIN), sigismember(&before, SIGRTMIN));
	assert_int_equal(sigismember(&after, SIGIO), sigismember(&before, SIGIO));
	close(fd);
}

/* An open for writing breaks the lease: the check says so, and keeps saying so. */
static void test_lease_broken_by_writer(void **state)
{
	kn_error err = KN_ERROR_INIT;
	char path[128];
	kn_lease l;
	int fd, w;

	(void) state;
	fd = make_file("b.tar", path, sizeof(path));
	take_or_skip(&l, fd);
	/* O_NONBLOCK: the kernel starts the break and fails the open at once
	 * instead of waiting for the holder (lease-break-time) */
	w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_int_equal(w, -1);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_true(lease_signal_pending());
	assert_int_equal(kn_lease_check(&l, &err), -ESTALE);
	assert_non_null(strstr(err.msg, "opened for writing"));
	assert_false(lease_signal_pending()); /* consumed by the check */
	assert_int_equal(kn_lease_check(&l, &err), -ESTALE);
	kn_lease_release(&l);
	assert_false(lease_signal_pending());
	/* released: the writer gets in at once */
	w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(w >= 0);
	close(w);
	close(fd);
}

/* A truncate by path breaks it too; a file already open for writing cannot be leased. */
static void test_lease_truncate_and_writers(void **state)
{
	kn_error err = KN_ERROR_INIT;
	char path[128];
	kn_lease l;
	int fd, w;

	(void) state;
	fd = make_file("c.tar", path, sizeof(path));
	take_or_skip(&l, fd);
	/* truncate(2) waits for the break like an open: do it from a child */
	{
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0)
			_exit(truncate(path, 0) == 0 ? 0 : 1);
		/* the break signal arrives when the child's truncate starts */
		for (int i = 0; i < 500 && !lease_signal_pending(); i++)
			usleep(10000);
		assert_int_equal(kn_lease_check(&l, &err), -ESTALE);
		kn_lease_release(&l); /* lets the truncate finish */
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(fd);

	fd = make_file("d.tar", path, sizeof(path));
	w = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(w >= 0);
	assert_int_equal(kn_lease_take(&l, fd, &err), -EAGAIN);
	assert_non_null(strstr(err.msg, "open for writing"));
	assert_false(l.held);
	close(w);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_hex),
		cmocka_unit_test_setup_teardown(test_lock_pin_and_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_undisturbed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_broken_by_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_truncate_and_writers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
