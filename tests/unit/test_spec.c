/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "spec.h"
#include "util.h"

static const char *minimal =
	"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
	"\"process\":{\"args\":[\"/bin/sh\",\"-c\",\"exit 7\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}}}";

static int parse(const char *text, kn_spec **spec, kn_error *err)
{
	return kn_spec_parse(text, spec, NULL, err);
}

static void test_minimal(void **state)
{
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = NULL;

	(void) state;
	assert_int_equal(parse(minimal, &spec, &err), 0);
	assert_string_equal(spec->root_path, "rootfs");
	assert_int_equal(kn_strv_len(spec->args), 3);
	assert_string_equal(spec->args[2], "exit 7");
	assert_int_equal(spec->uid, 0);
	/* the default masked and read-only paths are always there */
	assert_true(kn_strv_len(spec->masked_paths) >= 12);
	assert_true(kn_strv_len(spec->readonly_paths) >= 5);
	assert_null(spec->seccomp);
	kn_spec_free(spec);
}

static void expect_error(const char *text, const char *needle)
{
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = NULL;

	assert_true(parse(text, &spec, &err) < 0);
	assert_null(spec);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' does not mention '%s'", err.msg, needle);
}

static void test_errors_name_the_field(void **state)
{
	(void) state;
	expect_error("not json", "invalid JSON");
	expect_error("[]", "JSON object");
	expect_error("{\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"]}}", "ociVersion");
	expect_error("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"]}}", "ociVersion");
	expect_error("{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"x\"]}}", "root");
	expect_error("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"}}", "process");
	expect_error("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[1]}}", "process.args[0]");
	expect_error("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"],\"user\":{\"uid\":-1}}}",
		     "process.user");
	expect_error("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"],"
		     "\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"hard\":1,\"soft\":1}]}}",
		     "RLIMIT_BOGUS");
	expect_error("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"],"
		     "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1,\"soft\":2}]}}",
		     "soft limit");
	expect_error("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"]},"
		     "\"mounts\":[{\"type\":\"tmpfs\"}]}",
		     "mounts[0].destination");
	/* joining a host namespace would silently weaken the sandbox: refused */
	expect_error("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"]},"
		     "\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}]}}",
		     "linux.namespaces[0].path");
	expect_error("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"]},"
		     "\"linux\":{\"devices\":[{\"path\":\"/dev/sda\",\"type\":\"b\",\"major\":8,\"minor\":0}]}}",
		     "linux.devices");
	expect_error("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"]},"
		     "\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}}",
		     "gidMappings");
	expect_error("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"]},"
		     "\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":0}],"
		     "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}}",
		     "size must be at least 1");
}

static void test_full_fields(void **state)
{
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = NULL;
	const char *text =
		"{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"/r\",\"readonly\":true},\"hostname\":\"h1\","
		"\"process\":{\"args\":[\"a\"],\"env\":[\"A=1\"],\"cwd\":\"/w\",\"terminal\":false,"
		"\"user\":{\"uid\":1000,\"gid\":1001,\"additionalGids\":[5,6]},"
		"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":2048,\"soft\":1024}]},"
		"\"mounts\":[{\"destination\":\"/x\",\"source\":\"/src\",\"options\":[\"rbind\",\"ro\"]},"
		"{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
		"\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
		"\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
		"\"maskedPaths\":[\"/proc/extra\"],\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
		"\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\"}},"
		"\"annotations\":{\"k\":\"v\"}}";

	(void) state;
	assert_int_equal(parse(text, &spec, &err), 0);
	assert_string_equal(spec->hostname, "h1");
	assert_string_equal(spec->cwd, "/w");
	assert_int_equal(spec->gid, 1001);
	assert_int_equal(spec->n_additional_gids, 2);
	assert_int_equal(spec->n_rlimits, 1);
	assert_int_equal(spec->rlimits[0].resource, RLIMIT_NOFILE);
	assert_true(spec->rlimits[0].hard == 2048);
	assert_int_equal(spec->n_mounts, 2);
	/* no type + rbind option: a bind mount, as the OCI spec says */
	assert_string_equal(spec->mounts[0].type, "bind");
	assert_int_equal(spec->n_uid_mappings, 1);
	assert_int_equal(spec->uid_mappings[0].size, 65536);
	assert_int_equal(spec->n_sysctls, 1);
	assert_non_null(spec->seccomp);
	assert_non_null(spec->annotations);
	/* defaults plus the spec's own */
	assert_string_equal(spec->masked_paths[kn_strv_len(spec->masked_paths) - 1], "/proc/extra");
	assert_int_equal(kn_spec_validate(spec, &err), 0);
	kn_spec_free(spec);
}

static void test_validate(void **state)
{
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = kn_spec_new_default(1 << 20);

	(void) state;
	assert_int_equal(kn_spec_validate(spec, &err), 0);
	kn_spec_add_mount(spec, "/a/../../etc", "tmpfs", "tmpfs", NULL);
	assert_int_equal(kn_spec_validate(spec, &err), -EINVAL);
	assert_non_null(strstr(err.msg, ".."));
	kn_spec_free(spec);

	spec = kn_spec_new_default(1 << 20);
	free(spec->cwd);
	spec->cwd = kn_xstrdup("relative");
	assert_int_equal(kn_spec_validate(spec, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "process.cwd"));
	kn_spec_free(spec);
}

/* What `kennel-oci spec` prints must read back as the same spec. */
static void test_roundtrip(void **state)
{
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = kn_spec_new_default(32 << 20), *back = NULL;
	struct json_object *o = kn_spec_to_json(spec);
	const char *text = json_object_to_json_string(o);

	(void) state;
	assert_int_equal(parse(text, &back, &err), 0);
	assert_int_equal(back->uid, 1000);
	assert_int_equal(back->gid, 1000);
	assert_string_equal(back->hostname, "kennel");
	assert_int_equal(back->n_mounts, spec->n_mounts);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		assert_string_equal(back->mounts[i].destination, spec->mounts[i].destination);
		assert_string_equal(back->mounts[i].type, spec->mounts[i].type);
		assert_int_equal(kn_strv_len(back->mounts[i].options), kn_strv_len(spec->mounts[i].options));
	}
	assert_int_equal(back->n_rlimits, spec->n_rlimits);
	assert_int_equal(kn_strv_len(back->env), kn_strv_len(spec->env));
	json_object_put(o);
	kn_spec_free(spec);
	kn_spec_free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_errors_name_the_field),
		cmocka_unit_test(test_full_fields),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
