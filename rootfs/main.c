/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kennel-rootfs: the helper `kennel rootfs ...` runs (see runtime/cli.c). */
#include <curl/curl.h>

#include "rootfs_cli.h"

int main(int argc, char **argv)
{
	int r;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* argv[0] stands for the "rootfs" word of `kennel rootfs ...`. */
	r = kn_rootfs_main(argc, argv);
	curl_global_cleanup();
	return r;
}
