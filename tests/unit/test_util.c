/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

static void test_parse_size(void **state)
{
	kn_error err = KN_ERROR_INIT;
	uint64_t v = 0;

	(void) state;
	assert_int_equal(kn_parse_size("4096", &v, &err), 0);
	assert_true(v == 4096);
	assert_int_equal(kn_parse_size("64k", &v, &err), 0);
	assert_true(v == 65536);
	assert_int_equal(kn_parse_size("64M", &v, &err), 0);
	assert_true(v == 64ULL << 20);
	assert_int_equal(kn_parse_size("2GiB", &v, &err), 0);
	assert_true(v == 2ULL << 30);
	assert_int_equal(kn_parse_size("1gb", &v, &err), 0);
	assert_true(v == 1ULL << 30);
}

static void test_parse_size_rejects(void **state)
{
	kn_error err = KN_ERROR_INIT;
	uint64_t v = 7;

	(void) state;
	assert_int_equal(kn_parse_size("", &v, &err), -EINVAL);
	assert_int_equal(kn_parse_size("-1", &v, &err), -EINVAL);
	assert_int_equal(kn_parse_size("12q", &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "12q"));
	assert_int_equal(kn_parse_size("64mm", &v, &err), -EINVAL);
	assert_int_equal(kn_parse_size("99999999999999999999", &v, &err), -ERANGE);
	assert_int_equal(kn_parse_size("99999999999t", &v, &err), -ERANGE);
	assert_true(v == 7);
}

static void test_parse_u32(void **state)
{
	kn_error err = KN_ERROR_INIT;
	uint32_t v = 0;

	(void) state;
	assert_int_equal(kn_parse_u32("100000", "uid", &v, &err), 0);
	assert_int_equal(v, 100000);
	assert_int_equal(kn_parse_u32("4294967296", "uid", &v, &err), -ERANGE);
	assert_int_equal(kn_parse_u32("12a", "--host-uid", &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--host-uid"));
}

static void test_strv_and_env(void **state)
{
	char **env = NULL;

	(void) state;
	kn_strv_append(&env, "PATH=/bin");
	kn_strv_append(&env, "HOME=/home/claude");
	assert_int_equal(kn_strv_len(env), 2);
	assert_string_equal(kn_env_find(env, "PATH"), "/bin");
	assert_null(kn_env_find(env, "PAT"));
	kn_env_set(&env, "PATH=/usr/bin");
	assert_int_equal(kn_strv_len(env), 2);
	assert_string_equal(kn_env_find(env, "PATH"), "/usr/bin");
	kn_env_set(&env, "K=V=W");
	assert_string_equal(kn_env_find(env, "K"), "V=W");
	assert_int_equal(kn_strv_len(env), 3);
	kn_strv_free(env);
}

static void test_read_write_file(void **state)
{
	kn_error err = KN_ERROR_INIT;
	char path[] = "/tmp/kennel-test-util-XXXXXX";
	char buf[16];
	int fd = mkstemp(path);

	(void) state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(kn_write_file(path, "hello", 5, &err), 0);
	assert_int_equal(kn_read_file(path, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	/* the buffer cap truncates and still terminates */
	assert_int_equal(kn_read_file(path, buf, 3), 2);
	assert_string_equal(buf, "he");
	unlink(path);
	assert_int_equal(kn_write_file(path, "x", 1, &err), -ENOENT);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(kn_read_file(path, buf, sizeof(buf)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_size_rejects),
		cmocka_unit_test(test_parse_u32),
		cmocka_unit_test(test_strv_and_env),
		cmocka_unit_test(test_read_write_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
