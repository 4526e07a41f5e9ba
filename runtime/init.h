/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_INIT_H
#define KENNEL_INIT_H

#include <signal.h>
#include <sys/types.h>

/* The signals the launcher blocks and pid 1 forwards to the command. */
void kn_init_forwarded_signals(sigset_t *set);

/*
 * kn_init_exit_code() - the shell convention for a wait status: the exit
 * code, or 128+N when killed by signal N.
 */
int kn_init_exit_code(int wait_status);

/*
 * kn_init_loop() - be pid 1 of the sandbox until @cmd exits: reap every
 * child (orphans are reparented to us), forward to @cmd the signals that
 * were sent to us by a process (kill(2) from the launcher), and ignore
 * those the kernel raised for the terminal, which already reached the
 * command's process group.  The forwarded signals must be blocked on entry.
 * Return: the command's exit code (kn_init_exit_code), or 125 when the
 * loop itself cannot run.
 */
int kn_init_loop(pid_t cmd);

#endif
