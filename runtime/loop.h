/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_LOOP_H
#define KENNEL_LOOP_H

/*
 * The supervisor's event loop is one epoll set in kn_launch_run().  Every
 * fd in it carries a pointer to a kn_ev (epoll_event.data.ptr) whose type
 * says who handles it: the launcher's own fds below KN_EV_GATEWAY, the
 * egress gateway's from KN_EV_GATEWAY, the hook server's from KN_EV_HOOKS.
 */

typedef struct kn_ev {
	int type;
} kn_ev;

#define KN_EV_GATEWAY 64
#define KN_EV_HOOKS 96

#endif
