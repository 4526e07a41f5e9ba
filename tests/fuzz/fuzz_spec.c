/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: an OCI config.json is untrusted input (kennel-oci reads the
 * bundles container engines hand it).  Parse it, validate it, render it
 * back, and compile its seccomp section as the launcher would.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seccomp.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = NULL;
	char *text;

	if (size > 1 << 20)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (kn_spec_parse(text, &spec, NULL, &err) == 0) {
		struct json_object *o;
		kn_bpf bpf = { 0 };

		(void) kn_spec_validate(spec, &err);
		o = kn_spec_to_json(spec);
		json_object_put(o);
		if (spec->seccomp && kn_seccomp_prepare(spec->seccomp, &bpf, &err) == 0)
			kn_bpf_free(&bpf);
		kn_spec_free(spec);
	}
	free(text);
	return 0;
}
