/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int main(int argc, char **argv)
{
	const char *name = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;

	/* Never let a later open() land on 0, 1 or 2 when the caller closed them. */
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0) {
			int nfd = open("/dev/null", O_RDWR);

			if (nfd < 0)
				return 125;
			if (nfd != fd) {
				dup2(nfd, fd);
				close(nfd);
			}
		}
	}
	name = name ? name + 1 : (argc > 0 && argv[0] ? argv[0] : "kennel");
	if (strcmp(name, "kennel-oci") == 0)
		return kn_oci_main(argc, argv);
	return kn_cli_main(argc, argv);
}
