# shellcheck shell=bash disable=SC2034,SC2154
# (variables are used by the bats files; status/output come from bats' run)
#
# Shared helpers for kennel's bats files.  Every file starts with
#
#     load ../helpers/common
#
# Environment (set by tests/meson.build, rewritten by helpers/as-user when it
# stages copies): KENNEL, KENNEL_OCI, KENNEL_ROOTFS, KENNEL_ROOTFS_TAR,
# KENNEL_SRC, KENNEL_BUILD; KENNEL_MUST_WORK=1 in CI.
#
# The files run both as root and as an unprivileged user.  As root, kennel maps
# the sandbox user (uid 1000 inside) to --host-uid/--host-gid; the helpers
# always pass KN_HOST_UID/KN_HOST_GID (100000) then, so every host-side
# expectation (file owners, writable dirs) is the same for every test.
#
# A bats file that defines its own teardown() must call kn_cleanup from it.

# Every command in the sandbox gets this long before it is killed, so a hang
# fails one test instead of stalling CI (bats' own per-test timeout below is
# the backstop).
KN_TIMEOUT=${KN_TIMEOUT:-20}
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-90}

if [[ $(id -u) -eq 0 ]]; then
	KN_HOST_UID=100000
	KN_HOST_GID=100000
	KN_HOST_ARGS="--host-uid $KN_HOST_UID --host-gid $KN_HOST_GID"
else
	KN_HOST_UID=$(id -u)
	KN_HOST_GID=$(id -g)
	KN_HOST_ARGS=""
fi
export KN_HOST_UID KN_HOST_GID KN_HOST_ARGS

# kn_skip REASON: the only way a core test may skip.  With KENNEL_MUST_WORK=1
# (CI) a missing feature is a failure: the machine was supposed to have it.
kn_skip() {
	if [[ ${KENNEL_MUST_WORK:-0} == 1 ]]; then
		echo "required feature unavailable: $*" >&2
		return 1
	fi
	skip "$*"
}

# kn_skip_optional REASON: skip a test of a non-core extra; never fails.
kn_skip_optional() {
	skip "$*"
}

# kn_fail MESSAGE: fail the current test with a message.
kn_fail() {
	echo "$*" >&2
	return 1
}

# kn_require_kennel: the binaries under test must exist.  Missing binaries
# are a build problem, never a skip.
kn_require_kennel() {
	[[ -n ${KENNEL:-} ]] || kn_fail "KENNEL is not set (run through meson test, or export KENNEL=path/to/kennel)"
	[[ -x $KENNEL ]] || kn_fail "KENNEL=$KENNEL is not an executable file (build first: meson compile -C build)"
	[[ -n ${KENNEL_ROOTFS:-} && -x $KENNEL_ROOTFS/bin/busybox ]] ||
		kn_fail "KENNEL_ROOTFS=${KENNEL_ROOTFS:-} has no /bin/busybox (build the test rootfs: scripts/make-test-rootfs)"
}

# kn_require_userns: kennel needs unprivileged user namespaces when rootless.
kn_require_userns() {
	[[ $(id -u) -eq 0 ]] && return 0
	if ! unshare --user --map-root-user true 2>/dev/null; then
		kn_skip "unprivileged user namespaces (unshare -Ur fails; sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces>0)"
	fi
}

# kn_tmpdir: print a new empty directory (0755, so the sandbox's host uid can
# traverse it), removed in teardown.  Usable as dir=$(kn_tmpdir): the
# directory is recorded in a per-test registry file, not a variable, because
# $(...) is a subshell.
kn_tmpdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/kennel-test.XXXXXX") || return 1
	chmod 0755 "$d"
	printf '%s\n' "$d" >>"$(kn__registry)"
	printf '%s\n' "$d"
}

kn__registry() {
	# One registry per test, in bats' own per-test temp dir.
	printf '%s\n' "${BATS_TEST_TMPDIR:-${BATS_RUN_TMPDIR:-/tmp}}/kn-tmpdirs"
}

# kn_sandbox_dir: print a new empty directory the sandbox user can write to
# (owned by the host uid/gid it is mapped to).
kn_sandbox_dir() {
	local d
	d=$(kn_tmpdir)/dir || return 1
	mkdir "$d"
	if [[ $(id -u) -eq 0 ]]; then
		chown "$KN_HOST_UID:$KN_HOST_GID" "$d"
	fi
	printf '%s\n' "$d"
}

# kn_workspace: make a workspace directory writable by the sandbox user and
# set KN_WORKSPACE to it (not printed: call it directly, not in $(...)).
kn_workspace() {
	KN_WORKSPACE=$(kn_sandbox_dir) || return 1
	export KN_WORKSPACE KN_HOST_ARGS
}

# kn_sandbox ARGS...: run kennel sandbox on the test rootfs, as the mapped
# user when root, with a timeout.  `run`-friendly: stdin, stdout, stderr and
# the exit status are kennel's (124 means the timeout hit).
kn_sandbox() {
	# shellcheck disable=SC2086  # KN_HOST_ARGS is a list of words on purpose
	timeout -k 5 "$KN_TIMEOUT" "$KENNEL" sandbox --rootfs "$KENNEL_ROOTFS" $KN_HOST_ARGS \
		--audit-log "$(kn_audit_log)" "$@"
}

# kn_audit_log: where the sandboxes of this test write their network audit
# events (the default network is the allowlist gateway), so no test writes
# into the invoking user's ~/.local/state or /var/log.
kn_audit_log() {
	echo "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/kennel-audit.log"
}

# kn_oci ARGS...: run kennel-oci with a timeout.
kn_oci() {
	timeout -k 5 "$KN_TIMEOUT" "$KENNEL_OCI" "$@"
}

# kn_start_bg ARGS...: start `kennel sandbox ... ARGS` in the background,
# with no timeout wrapper, so that KN_BG_PID is kennel's own pid (the target
# of the signal tests).  A background job of a non-interactive shell starts
# with SIGINT/SIGQUIT ignored; reset them so kennel starts as it would from a
# terminal.  Output goes to $KN_BG_LOG; fd 3 (bats' output) is closed so a
# leftover process cannot hold the test run open.
kn_start_bg() {
	KN_BG_LOG=$(kn_tmpdir)/bg.log
	(
		trap - INT QUIT
		# shellcheck disable=SC2086
		exec "$KENNEL" sandbox --rootfs "$KENNEL_ROOTFS" $KN_HOST_ARGS --audit-log "$(kn_audit_log)" "$@" \
			</dev/null >"$KN_BG_LOG" 2>&1 3>&-
	) &
	KN_BG_PID=$!
}

# kn_alive PID: true while PID exists and is not a zombie (a child of this
# shell stays a zombie until `wait`, and kill -0 succeeds on zombies).
kn_alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && ${st%% *} != Z ]]
}

# kn_wait_status PID SECONDS: wait for a child of this shell; set KN_STATUS to
# its exit status.  If it is still running after SECONDS it is SIGKILLed and
# the function fails.
kn_wait_status() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		kn_alive "$pid" || break
		sleep 0.1
	done
	if kn_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
		kn_fail "process $pid still running after ${secs}s"
		return 1
	fi
	KN_STATUS=0
	wait "$pid" || KN_STATUS=$?
}

# kn_marker: print a unique number for `sleep MARKER`, so the test can find
# exactly its own sandboxed process with pgrep (several test files, as root
# and as the user, may run at the same time).
kn_marker() {
	printf '%d%04d.%d\n' $((RANDOM % 90 + 10)) $((RANDOM % 10000)) "$BASHPID"
}

# kn_pgrep_sleep MARKER: pids of processes running `sleep MARKER` (not
# kennel's own, whose command line only contains it after `--`).
kn_pgrep_sleep() {
	pgrep -f "^([^ ]*/)?sleep ${1//./\\.}( |\$)"
}

# kn_wait_for_sleep MARKER SECONDS: wait until `sleep MARKER` runs.
kn_wait_for_sleep() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kn_pgrep_sleep "$1" >/dev/null && return 0
		sleep 0.1
	done
	kn_fail "sleep $1 did not start within $2s; kennel output: $(cat "${KN_BG_LOG:-/dev/null}" 2>/dev/null)"
}

# kn_wait_sleep_gone MARKER SECONDS: wait until no `sleep MARKER` is left.
kn_wait_sleep_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kn_pgrep_sleep "$1" >/dev/null || return 0
		sleep 0.1
	done
	kn_fail "sleep $1 still running $2s later: $(kn_pgrep_sleep "$1" | xargs -r ps -o pid,user,stat,args -p)"
}

# kn_cleanup: kill what a test left running and remove its temp dirs.  Files
# written in the sandbox may belong to subordinate uids the user cannot
# remove directly; fall back to removing them from a user namespace that maps
# those ids.
kn_cleanup() {
	if [[ -n ${KN_BG_PID:-} ]] && kill -0 "$KN_BG_PID" 2>/dev/null; then
		kill -KILL "$KN_BG_PID" 2>/dev/null || true
		wait "$KN_BG_PID" 2>/dev/null || true
	fi
	local reg d
	reg=$(kn__registry)
	[[ -f $reg ]] || return 0
	while IFS= read -r d; do
		[[ -n $d && -d $d ]] || continue
		# unpacked trees may hold read-only directories: make them ours first
		rm -rf "$d" 2>/dev/null ||
			{ chmod -R u+rwX "$d" 2>/dev/null; rm -rf "$d" 2>/dev/null; } ||
			unshare --map-auto --map-root-user rm -rf "$d" 2>/dev/null ||
			echo "# kn_cleanup: could not remove $d" >&3
	done <"$reg"
	rm -f "$reg"
}

teardown() {
	kn_cleanup
}

# kn_assert_eq EXPECTED ACTUAL [WHAT]: compare with a readable message.
kn_assert_eq() {
	if [[ "$1" != "$2" ]]; then
		kn_fail "${3:-value}: expected '$1', got '$2'"
		return 1
	fi
}

# kn_assert_status EXPECTED: compare bats' $status after `run`, show output.
kn_assert_status() {
	if [[ "$status" -ne "$1" ]]; then
		{
			if [[ $status -eq 124 ]]; then
				echo "exit status: expected $1, got 124 (timed out after ${KN_TIMEOUT}s)"
			else
				echo "exit status: expected $1, got $status"
			fi
			echo "--- output:"
			printf '%s\n' "$output"
			if [[ -n ${stderr+x} ]]; then
				echo "--- stderr:"
				printf '%s\n' "$stderr"
			fi
		} >&2
		return 1
	fi
}
