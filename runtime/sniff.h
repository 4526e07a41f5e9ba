/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_SNIFF_H
#define KENNEL_SNIFF_H

/*
 * The name a client asks for, read from the first bytes it sends: the
 * TLS ClientHello's server_name (RFC 8446 4.1.2, RFC 6066 3) on port 443,
 * the HTTP/1.x Host header (RFC 9112 3.2) on port 80.  The gateway reads
 * these bytes before it connects anywhere; nothing is decrypted or
 * terminated.  Input is hostile: every length is checked against the
 * buffer, and nothing is read past @len.
 */

#include <stddef.h>
#include <stdint.h>

/* The most the gateway buffers while it waits for a name. */
#define KN_SNIFF_MAX 16384

typedef enum kn_sniff_result {
	KN_SNIFF_NEED_MORE = 0, /* a valid prefix: read more (up to KN_SNIFF_MAX) */
	KN_SNIFF_FOUND,         /* @name holds the name: lowercase, no trailing dot, no port */
	KN_SNIFF_NONE,          /* complete and valid, but names no host (no SNI extension, no Host) */
	KN_SNIFF_INVALID,       /* not TLS / not HTTP/1.x, malformed, an invalid name, or over KN_SNIFF_MAX */
} kn_sniff_result;

/*
 * kn_sniff_tls_sni() - the host_name entry of the server_name extension
 * of a ClientHello, which may span several TLS records (handshake type 1
 * reassembled from consecutive handshake records).  The name must be a
 * valid DNS name (letters, digits, '-', '_', dots; labels 1-63; at most
 * 253); an IP literal or anything else is INVALID.  @cap >= 256.
 */
kn_sniff_result kn_sniff_tls_sni(const uint8_t *buf, size_t len, char *name, size_t cap);

/*
 * kn_sniff_http_host() - the Host header of an HTTP/1.0 or 1.1 request
 * (request line "METHOD SP target SP HTTP/1.x", headers up to the empty
 * line).  Two Host headers, or an absolute-form target whose host differs
 * from Host, are INVALID (request smuggling).  The port and a trailing
 * dot are dropped; an IP literal, bracketed or not, is returned as is
 * (without brackets) so the flow check can refuse it.  @cap >= 256.
 */
kn_sniff_result kn_sniff_http_host(const uint8_t *buf, size_t len, char *name, size_t cap);

#endif
