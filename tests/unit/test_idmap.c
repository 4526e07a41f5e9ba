/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The id-map plan: who writes which map, and what is refused.  The
 * rootless cases run in a forked child that has dropped to an
 * unprivileged uid when the test runs as root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "idmap.h"
#include "spec.h"
#include "util.h"

static kn_spec *spec_with_ranges(uint32_t host)
{
	kn_spec *spec = kn_spec_new_default(1 << 20);

	spec->uid = 0;
	spec->gid = 0;
	spec->uid_mappings = kn_xcalloc(1, sizeof(kn_idmap));
	spec->gid_mappings = kn_xcalloc(1, sizeof(kn_idmap));
	spec->uid_mappings[0] = (kn_idmap) { 0, host, 65536 };
	spec->gid_mappings[0] = (kn_idmap) { 0, host, 65536 };
	spec->n_uid_mappings = spec->n_gid_mappings = 1;
	return spec;
}

static void test_default_single_mapping(void **state)
{
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = kn_spec_new_default(1 << 20);
	kn_idmap_plan plan;

	(void) state;
	assert_int_equal(kn_idmap_plan_make(spec, 4242, 4343, &plan, &err), 0);
	assert_int_equal(plan.n_uid, 1);
	assert_int_equal(plan.uid[0].container_id, 1000);
	assert_int_equal(plan.uid[0].host_id, 4242);
	assert_int_equal(plan.uid[0].size, 1);
	assert_int_equal(plan.gid[0].host_id, 4343);
	assert_false(plan.use_helpers);
	/* root writes the map itself and keeps setgroups to drop its groups */
	if (geteuid() == 0)
		assert_false(plan.deny_setgroups);
	kn_spec_free(spec);
}

static void test_never_host_root(void **state)
{
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = kn_spec_new_default(1 << 20);
	kn_idmap_plan plan;

	(void) state;
	assert_int_equal(kn_idmap_plan_make(spec, 0, 1000, &plan, &err), -EPERM);
	assert_non_null(strstr(err.msg, "host root"));
	assert_int_equal(kn_idmap_plan_make(spec, 1000, 0, &plan, &err), -EPERM);
	kn_spec_free(spec);

	spec = spec_with_ranges(0);
	assert_int_equal(kn_idmap_plan_make(spec, 1000, 1000, &plan, &err), -EPERM);
	assert_non_null(strstr(err.msg, "hostID 0"));
	kn_spec_free(spec);
}

static void test_process_id_must_be_mapped(void **state)
{
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = spec_with_ranges(100000);
	kn_idmap_plan plan;

	(void) state;
	spec->uid = 70000;
	assert_int_equal(kn_idmap_plan_make(spec, 1000, 1000, &plan, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "70000"));
	kn_spec_free(spec);
}

/* Run @fn as an unprivileged uid (65534 when we are root); its return is the exit code. */
static int as_unprivileged(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
			_exit(99);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int rootless_own_id(void)
{
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = kn_spec_new_default(1 << 20);
	kn_idmap_plan plan;
	int r = kn_idmap_plan_make(spec, geteuid(), getegid(), &plan, &err);

	if (r != 0 || plan.use_helpers || !plan.deny_setgroups || plan.uid[0].host_id != geteuid())
		return 1;
	kn_spec_free(spec);
	return 0;
}

static int rootless_ranges_need_helpers_or_subids(void)
{
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = spec_with_ranges(100000);
	kn_idmap_plan plan;
	int r = kn_idmap_plan_make(spec, geteuid(), getegid(), &plan, &err);

	/* uid 65534 has no /etc/subuid range: the error must say how to add one */
	if (r == 0)
		return plan.use_helpers ? 0 : 2;
	if (strstr(err.msg, "usermod --add-subuids") || strstr(err.msg, "apt-get install uidmap"))
		return 0;
	return 3;
}

static void test_rootless_own_id_is_direct(void **state)
{
	(void) state;
	assert_int_equal(as_unprivileged(rootless_own_id), 0);
}

static void test_rootless_ranges(void **state)
{
	(void) state;
	assert_int_equal(as_unprivileged(rootless_ranges_need_helpers_or_subids), 0);
}

static void test_subid_lookup(void **state)
{
	char path[] = "/tmp/kennel-subuid-XXXXXX";
	int fd = mkstemp(path);

	(void) state;
	assert_true(fd >= 0);
	assert_true(write(fd, "alice:100000:65536\n1234:200000:65536\n", 37) == 37);
	close(fd);
	assert_true(kn_idmap_subid_has_range(path, "alice", 1));
	assert_true(kn_idmap_subid_has_range(path, "bob", 1234));
	assert_false(kn_idmap_subid_has_range(path, "bob", 1));
	assert_false(kn_idmap_subid_has_range(path, "alic", 1));
	unlink(path);
	assert_false(kn_idmap_subid_has_range(path, "alice", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_single_mapping),
		cmocka_unit_test(test_never_host_root),
		cmocka_unit_test(test_process_id_must_be_mapped),
		cmocka_unit_test(test_rootless_own_id_is_direct),
		cmocka_unit_test(test_rootless_ranges),
		cmocka_unit_test(test_subid_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
