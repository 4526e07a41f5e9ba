/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_ROOTFS_CLI_H
#define KENNEL_ROOTFS_CLI_H

/*
 * kn_rootfs_main() - `kennel rootfs pull|ls|verify|rm|gc ...` (argv[0] is
 * "rootfs").  Return: the process exit code (0 ok, 1 a check failed or an
 * error, 2 usage).
 */
int kn_rootfs_main(int argc, char **argv);

#endif
