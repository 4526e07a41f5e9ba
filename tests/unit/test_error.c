/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"

static void test_set_appends_strerror(void **state)
{
	kn_error err = KN_ERROR_INIT;

	(void) state;
	assert_int_equal(kn_error_set(&err, ENOENT, "bind %s", "/x"), -ENOENT);
	assert_string_equal(err.msg, "bind /x: No such file or directory");
	assert_int_equal(err.code, ENOENT);
}

static void test_setx_and_wrap(void **state)
{
	kn_error err = KN_ERROR_INIT;

	(void) state;
	assert_int_equal(kn_error_setx(&err, 0, "bad size '%s'", "12q"), -EINVAL);
	assert_int_equal(kn_error_wrap(&err, "--tmpfs-size"), -EINVAL);
	assert_string_equal(err.msg, "--tmpfs-size: bad size '12q'");
	kn_error_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");
}

static void test_negative_code_normalised(void **state)
{
	kn_error err = KN_ERROR_INIT;

	(void) state;
	assert_int_equal(kn_error_set(&err, -EPERM, "mount"), -EPERM);
	assert_int_equal(err.code, EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_appends_strerror),
		cmocka_unit_test(test_setx_and_wrap),
		cmocka_unit_test(test_negative_code_normalised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
