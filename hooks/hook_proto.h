/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_HOOK_PROTO_H
#define KENNEL_HOOK_PROTO_H

/*
 * The hook shim's protocol with the supervisor, on a unix stream socket
 * that the sandbox sees read-only at KN_HOOK_SOCKET.
 *
 *   shim -> supervisor: a 4-byte big-endian length, then that many bytes:
 *                       the hook event JSON exactly as Claude Code wrote it
 *                       on the shim's stdin (at most KN_HOOK_MAX_EVENT)
 *   supervisor -> shim: a 4-byte big-endian length, then the hook output
 *                       JSON the shim prints (at most KN_HOOK_MAX_ANSWER;
 *                       length 0: print nothing)
 *   then both close.
 *
 * That is the whole protocol: the sandbox can only ask (and, through the
 * events it sends, report); there is no message that approves anything.
 * The shim also checks that the peer is outside the sandbox's pid
 * namespace (SO_PEERCRED reports pid 0 for such a peer), so a server that
 * something inside started cannot answer in the supervisor's place.
 * Header-only and libc-only: the shim is a static binary with no library.
 */

#include <stdint.h>

/* Where the sandbox sees the supervisor's socket (a read-only bind of a host directory at /run/kennel). */
#define KN_HOOK_DIR "/run/kennel"
#define KN_HOOK_SOCKET KN_HOOK_DIR "/policy.sock"
/* Where the sandbox sees the shim (a read-only bind). */
#define KN_HOOK_SHIM_PATH "/usr/libexec/kennel/kennel-hook"

#define KN_HOOK_MAX_EVENT (1u << 20)
#define KN_HOOK_MAX_ANSWER (64u << 10)

/* The shim's own deadline by default, in ms; the hook timeout in the managed settings is longer. */
#define KN_HOOK_DEADLINE_MS 8000
#define KN_HOOK_TIMEOUT_S 10

static inline void kn_hook_put_len(uint8_t out[4], uint32_t n)
{
	out[0] = (uint8_t) (n >> 24);
	out[1] = (uint8_t) (n >> 16);
	out[2] = (uint8_t) (n >> 8);
	out[3] = (uint8_t) n;
}

static inline uint32_t kn_hook_get_len(const uint8_t in[4])
{
	return (uint32_t) in[0] << 24 | (uint32_t) in[1] << 16 | (uint32_t) in[2] << 8 | in[3];
}

#endif
