/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cache paths, the lock file, and --rootfs resolution. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_hex),
		cmocka_unit_test_setup_teardown(test_lock_pin_and_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
