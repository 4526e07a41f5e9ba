/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "init.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

void kn_init_forwarded_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGWINCH);
}

int kn_init_exit_code(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return 125;
}

int kn_init_loop(pid_t cmd)
{
	sigset_t set;
	_cleanup_close_ int sfd = -1;

	kn_init_forwarded_signals(&set);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return 125;
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n;
		int status;
		pid_t pid;

		/* Reap first: the command may have exited before the signalfd existed. */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == cmd)
				return kn_init_exit_code(status);
		if (pid < 0 && errno == ECHILD)
			return 125;

		n = read(sfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t) sizeof(si))
			return 125;
		if (si.ssi_signo == SIGCHLD)
			continue;
		/*
		 * SI_KERNEL: raised by the tty for the foreground process group,
		 * which the command is in too; forwarding would deliver it twice.
		 */
		if (si.ssi_code == SI_KERNEL)
			continue;
		kill(cmd, (int) si.ssi_signo);
	}
}
