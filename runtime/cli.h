/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_CLI_H
#define KENNEL_CLI_H

/* kn_cli_main() - `kennel COMMAND ...`.  Return: the process exit code. */
int kn_cli_main(int argc, char **argv);

/* kn_oci_main() - `kennel-oci ...`, runc's command line.  Return: the exit code. */
int kn_oci_main(int argc, char **argv);

/* kn_cli_warn() - print "kennel: warning: MSG" on stderr. */
void kn_cli_warn(const char *msg);

#endif
