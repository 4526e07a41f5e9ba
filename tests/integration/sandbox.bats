#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2001  # $vars in single quotes expand inside the sandbox
# `kennel sandbox` and `kennel-oci run` end to end: exit codes, signals,
# stdio, filesystem, identity, isolation.  Runs as root and as an
# unprivileged user (tests/meson.build); every expectation holds for both.
# Commands inside are busybox applets: the test rootfs has no bash.

bats_require_minimum_version 1.5.0
load ../helpers/common

setup() {
	kn_require_kennel
	kn_require_userns
}

# kn_kennel ARGS...: kennel itself (no default --rootfs), with a timeout.
kn_kennel() {
	timeout -k 5 "$KN_TIMEOUT" "$KENNEL" "$@"
}

# assert_kennel_error: stderr of the last `run --separate-stderr` has a
# message from kennel itself.
assert_kennel_error() {
	# shellcheck disable=SC2154  # stderr is set by bats' run --separate-stderr
	if ! grep -q '^kennel: ' <<<"$stderr"; then
		kn_fail "expected a 'kennel: ' message on stderr, got: '$stderr' (stdout: '$output')"
	fi
}

# ---------------------------------------------------------------- exit codes

@test "exit status 0 is passed through" {
	run --separate-stderr kn_sandbox -- /bin/true
	kn_assert_status 0
}

@test "exit status 3 is passed through" {
	run --separate-stderr kn_sandbox -- sh -c 'exit 3'
	kn_assert_status 3
}

@test "exit status 42 is passed through" {
	run --separate-stderr kn_sandbox -- sh -c 'exit 42'
	kn_assert_status 42
}

@test "false exits 1" {
	run --separate-stderr kn_sandbox -- false
	kn_assert_status 1
}

@test "missing command (absolute path) exits 127 with a message naming it" {
	run -127 --separate-stderr kn_sandbox -- /no/such/kn-missing-cmd
	kn_assert_status 127
	[[ $stderr == *kn-missing-cmd* ]] || kn_fail "stderr does not name the command: '$stderr'"
}

@test "missing command (PATH lookup) exits 127 with a message naming it" {
	run -127 --separate-stderr kn_sandbox -- kn-missing-cmd
	kn_assert_status 127
	[[ $stderr == *kn-missing-cmd* ]] || kn_fail "stderr does not name the command: '$stderr'"
}

@test "non-executable file exits 126" {
	run --separate-stderr kn_sandbox -- /etc/passwd
	kn_assert_status 126
	[[ $stderr == */etc/passwd* ]] || kn_fail "stderr does not name the file: '$stderr'"
}

@test "missing rootfs directory exits 125 with a kennel: message" {
	# shellcheck disable=SC2086
	run --separate-stderr kn_kennel sandbox --rootfs /nonexistent/kennel-rootfs $KN_HOST_ARGS -- /bin/true
	kn_assert_status 125
	assert_kennel_error
	[[ $stderr == */nonexistent/kennel-rootfs* ]] || kn_fail "message does not name the rootfs: '$stderr'"
}

@test "rootfs that is a file exits 125 with a kennel: message" {
	local f
	f=$(kn_tmpdir)/not-a-dir
	echo x >"$f"
	# shellcheck disable=SC2086
	run --separate-stderr kn_kennel sandbox --rootfs "$f" $KN_HOST_ARGS -- /bin/true
	kn_assert_status 125
	assert_kennel_error
}

@test "unknown option exits 125 with a kennel: message" {
	run --separate-stderr kn_kennel sandbox --rootfs "$KENNEL_ROOTFS" --kn-no-such-option -- /bin/true
	kn_assert_status 125
	assert_kennel_error
	[[ $stderr == *kn-no-such-option* ]] || kn_fail "message does not name the option: '$stderr'"
}

# ------------------------------------------------------------------- signals

@test "command killed by SIGKILL exits 137" {
	run --separate-stderr kn_sandbox -- sh -c 'kill -KILL $$'
	kn_assert_status 137
}

@test "command killed by SIGTERM exits 143" {
	run --separate-stderr kn_sandbox -- sh -c 'kill -TERM $$'
	kn_assert_status 143
}

# kill_kennel_and_check SIGNAL EXPECTED_STATUS: start `sleep MARKER`, send
# SIGNAL to the kennel process, expect it to stop within 3 seconds with the
# status, and nothing of the sandbox to remain.
kill_kennel_and_check() {
	local sig=$1 expected=$2 marker start elapsed
	marker=$(kn_marker)
	kn_start_bg -- sleep "$marker"
	kn_wait_for_sleep "$marker" 10
	start=$(date +%s%N)
	kill "-$sig" "$KN_BG_PID"
	kn_wait_status "$KN_BG_PID" 10
	elapsed=$((($(date +%s%N) - start) / 1000000))
	kn_assert_eq "$expected" "$KN_STATUS" "exit status after SIG$sig (kennel output: $(cat "$KN_BG_LOG"))"
	((elapsed < 3000)) || kn_fail "kennel took ${elapsed}ms to stop after SIG$sig"
	kn_wait_sleep_gone "$marker" 3
}

@test "SIGTERM to kennel is forwarded: sleep stops quickly, exit 143" {
	kill_kennel_and_check TERM 143
}

@test "SIGINT to kennel is forwarded: sleep stops quickly, exit 130" {
	kill_kennel_and_check INT 130
}

@test "SIGHUP to kennel is forwarded: sleep stops quickly, exit 129" {
	kill_kennel_and_check HUP 129
}

@test "SIGKILL of kennel leaves no sandbox process and nothing mounted" {
	local marker
	kn_workspace
	marker=$(kn_marker)
	kn_start_bg --workspace "$KN_WORKSPACE" -- sleep "$marker"
	kn_wait_for_sleep "$marker" 10
	kill -KILL "$KN_BG_PID"
	kn_wait_status "$KN_BG_PID" 5
	kn_assert_eq 137 "$KN_STATUS" "kennel's own status after SIGKILL"
	kn_wait_sleep_gone "$marker" 5
	if grep -F -e "$KENNEL_ROOTFS" -e "$KN_WORKSPACE" /proc/self/mountinfo; then
		kn_fail "mounts of the sandbox left in the host mount namespace"
	fi
}

@test "background processes die when the command exits" {
	local marker start elapsed
	marker=$(kn_marker)
	start=$(date +%s%N)
	run --separate-stderr kn_sandbox -- sh -c "sleep $marker </dev/null >/dev/null 2>&1 & exit 5"
	elapsed=$((($(date +%s%N) - start) / 1000000))
	kn_assert_status 5
	((elapsed < 5000)) || kn_fail "kennel waited ${elapsed}ms for a leftover background process"
	kn_wait_sleep_gone "$marker" 3
}

# --------------------------------------------------------------------- stdio

@test "stdin is passed through (here-string)" {
	run --separate-stderr kn_sandbox -- cat <<<"hi"
	kn_assert_status 0
	kn_assert_eq hi "$output"
}

@test "stdin is passed through (pipe)" {
	local out
	out=$(echo hi | kn_sandbox -- cat)
	kn_assert_eq hi "$out"
}

@test "1 MiB of stdin arrives intact" {
	local d sum_host sum_in count
	d=$(kn_tmpdir)
	head -c 1048576 /dev/urandom >"$d/in"
	count=$(kn_sandbox -- wc -c <"$d/in")
	kn_assert_eq 1048576 "$((count))" "bytes counted inside"
	sum_host=$(sha256sum <"$d/in" | cut -d' ' -f1)
	# shellcheck disable=SC2002  # a pipe, not a file, on purpose
	sum_in=$(cat "$d/in" | kn_sandbox -- sha256sum | cut -d' ' -f1)
	kn_assert_eq "$sum_host" "$sum_in" "sha256 of stdin inside"
}

@test "1 MiB of stdout arrives intact" {
	local count
	count=$(kn_sandbox -- head -c 1048576 /dev/zero | wc -c)
	kn_assert_eq 1048576 "$count" "bytes read from the sandbox's stdout"
}

@test "stdin at EOF: cat ends at once" {
	run --separate-stderr kn_sandbox -- cat </dev/null
	kn_assert_status 0
	kn_assert_eq "" "$output"
}

@test "stdout and stderr stay separate" {
	run --separate-stderr kn_sandbox -- sh -c 'echo to-out; echo to-err >&2'
	kn_assert_status 0
	kn_assert_eq to-out "$output" stdout
	[[ $stderr == *to-err* ]] || kn_fail "stderr does not have to-err: '$stderr'"
	[[ $stderr != *to-out* ]] || kn_fail "stdout leaked into stderr: '$stderr'"
}

# ---------------------------------------------------------------- filesystem

@test "workspace is read-write and the working directory" {
	kn_workspace
	echo from-host >"$KN_WORKSPACE/in"
	run --separate-stderr kn_sandbox --workspace "$KN_WORKSPACE" -- sh -c 'pwd; cat in; echo from-sandbox >/workspace/out'
	kn_assert_status 0
	kn_assert_eq $'/workspace\nfrom-host' "$output"
	kn_assert_eq from-sandbox "$(cat "$KN_WORKSPACE/out")" "file written inside"
	kn_assert_eq "$KN_HOST_UID" "$(stat -c %u "$KN_WORKSPACE/out")" "owner of the file written inside"
}

@test "working directory is / without a workspace" {
	run --separate-stderr kn_sandbox -- pwd
	kn_assert_status 0
	kn_assert_eq / "$output"
}

@test "everything but the writable mounts is read-only" {
	local p
	run --separate-stderr kn_sandbox -- sh -c '
		for p in /etc/x /usr/x /x /bin/x /var/tmp/x /root/x; do
			if touch "$p" 2>/dev/null; then echo "WROTE $p"; fi
		done
		touch /etc/x 2>&1; true'
	kn_assert_status 0
	[[ $output != *WROTE* ]] || kn_fail "writable outside the workspace: $output"
	[[ $output == *"Read-only file system"* ]] || kn_fail "expected EROFS, got: $output"
	for p in /etc/x /usr/x /x /bin/x /var/tmp/x /root/x; do
		[[ ! -e $KENNEL_ROOTFS$p ]] || kn_fail "$p appeared in the host's rootfs"
	done
}

@test "the rootfs stays unchanged on the host" {
	local before after
	before=$(cd "$KENNEL_ROOTFS" && find . -path ./proc -prune -o -printf '%p %m %s %T@\n' | sort | sha256sum)
	run --separate-stderr kn_sandbox -- sh -c 'echo x >/tmp/t; echo y >/home/claude/t; echo z >/run/t'
	kn_assert_status 0
	after=$(cd "$KENNEL_ROOTFS" && find . -path ./proc -prune -o -printf '%p %m %s %T@\n' | sort | sha256sum)
	kn_assert_eq "$before" "$after" "rootfs listing"
}

@test "/tmp is writable and empty at start" {
	run --separate-stderr kn_sandbox -- sh -c 'ls -A /tmp | wc -l; echo data >/tmp/f && cat /tmp/f'
	kn_assert_status 0
	kn_assert_eq $'0\ndata' "$(sed 's/^ *//' <<<"$output")"
}

@test "/tmp does not persist between runs" {
	run --separate-stderr kn_sandbox -- sh -c 'echo x >/tmp/persist'
	kn_assert_status 0
	run --separate-stderr kn_sandbox -- sh -c 'test -e /tmp/persist && echo present || echo absent'
	kn_assert_eq absent "$output"
}

@test "/home/claude and /run are writable" {
	run --separate-stderr kn_sandbox -- sh -c 'echo a >/home/claude/f && echo b >/run/f && cat /home/claude/f /run/f'
	kn_assert_status 0
	kn_assert_eq $'a\nb' "$output"
}

@test "--tmpfs-size limits /tmp" {
	run --separate-stderr kn_sandbox --tmpfs-size 1m -- sh -c 'head -c 2097152 /dev/zero >/tmp/big; echo rc=$?; wc -c </tmp/big'
	kn_assert_status 0
	[[ $output == *"rc=1"* ]] || kn_fail "writing 2 MiB to a 1m /tmp did not fail: $output"
}

@test "--bind SRC:DST:ro is readable and not writable" {
	local src
	src=$(kn_tmpdir)/ro
	mkdir "$src"
	echo bound >"$src/file"
	chmod -R a+rX "$src"
	run --separate-stderr kn_sandbox --bind "$src:/var/tmp:ro" -- sh -c 'cat /var/tmp/file; { echo x >/var/tmp/new; } 2>&1 || echo write-failed'
	kn_assert_status 0
	[[ $output == bound*write-failed* ]] || kn_fail "unexpected: $output"
	[[ $output == *"Read-only file system"* ]] || kn_fail "expected EROFS: $output"
	[[ ! -e $src/new ]] || kn_fail "file written through a read-only bind"
}

@test "--bind SRC:DST is writable" {
	local src
	src=$(kn_sandbox_dir)
	run --separate-stderr kn_sandbox --bind "$src:/var/tmp" -- sh -c 'echo written >/var/tmp/new && cat /var/tmp/new'
	kn_assert_status 0
	kn_assert_eq written "$output"
	kn_assert_eq written "$(cat "$src/new")" "file on the host"
	kn_assert_eq "$KN_HOST_UID" "$(stat -c %u "$src/new")" "owner on the host"
}

@test "--bind onto a new mount point in a tmpfs (/tmp/kn-bind)" {
	local src
	src=$(kn_tmpdir)/ro
	mkdir "$src"
	echo bound >"$src/file"
	run --separate-stderr kn_sandbox --bind "$src:/tmp/kn-bind:ro" -- cat /tmp/kn-bind/file
	kn_assert_status 0
	kn_assert_eq bound "$output"
}

@test "--bind onto a path the rootfs lacks (/opt/kn/deep): created in an overlay, rootfs untouched" {
	local src before after
	src=$(kn_tmpdir)/ro
	mkdir "$src"
	echo bound >"$src/file"
	chmod -R a+rX "$src"
	[[ ! -e $KENNEL_ROOTFS/opt ]] || kn_fail "test premise: the test rootfs has no /opt"
	before=$(cd "$KENNEL_ROOTFS" && find . -path ./proc -prune -o -printf '%p %m %s %T@\n' | sort | sha256sum)
	run --separate-stderr kn_sandbox --bind "$src:/opt/kn/deep:ro" -- sh -c 'cat /opt/kn/deep/file; { touch /opt/new; } 2>&1 || true; { touch /x; } 2>&1 || true'
	kn_assert_status 0
	[[ $output == bound* ]] || kn_fail "bind not visible: $output"
	# the root stays read-only even with the overlay under it
	[[ $(grep -c "Read-only file system" <<<"$output") -eq 2 ]] || kn_fail "expected EROFS twice: $output"
	[[ ! -e $KENNEL_ROOTFS/opt ]] || kn_fail "kennel created /opt in the rootfs on the host"
	after=$(cd "$KENNEL_ROOTFS" && find . -path ./proc -prune -o -printf '%p %m %s %T@\n' | sort | sha256sum)
	kn_assert_eq "$before" "$after" "rootfs listing"
}

@test "--bind of a file into a directory of the image the sandbox user does not own (/etc/kn/x.conf)" {
	# The test rootfs's /etc belongs to root: as root (mapped to --host-uid)
	# and rootless alike, the sandbox user cannot add to it through the
	# overlay, so kennel creates the mount point in the overlay's upper layer.
	local src before after
	src=$(kn_tmpdir)/x.conf
	echo conf >"$src"
	chmod a+r "$src"
	[[ -d $KENNEL_ROOTFS/etc && ! -e $KENNEL_ROOTFS/etc/kn ]] || kn_fail "test premise: /etc without /etc/kn"
	before=$(cd "$KENNEL_ROOTFS" && find . -path ./proc -prune -o -printf '%p %m %s %T@\n' | sort | sha256sum)
	run --separate-stderr kn_sandbox --bind "$src:/etc/kn/x.conf:ro" -- sh -c 'cat /etc/kn/x.conf; cat /etc/os-release | head -1; { touch /etc/new; } 2>&1 || true'
	kn_assert_status 0
	[[ $output == conf$'\n'NAME=* ]] || kn_fail "bind or image file not visible: $output"
	[[ $output == *"Read-only file system"* ]] || kn_fail "/etc writable: $output"
	after=$(cd "$KENNEL_ROOTFS" && find . -path ./proc -prune -o -printf '%p %m %s %T@\n' | sort | sha256sum)
	kn_assert_eq "$before" "$after" "rootfs listing"
}

@test "as root: a rootfs under a 0700 directory works with an unprivileged --host-uid" {
	if [[ $(id -u) -ne 0 ]]; then
		kn_skip_optional "n/a: only root chooses --host-uid"
	fi
	local priv
	priv=$(kn_tmpdir)/private
	mkdir "$priv"
	cp -a "$KENNEL_ROOTFS" "$priv/rootfs"
	chmod 0700 "$priv"
	run --separate-stderr timeout -k 5 "$KN_TIMEOUT" "$KENNEL" sandbox --rootfs "$priv/rootfs" \
		--host-uid 100000 --host-gid 100000 -- sh -c 'id -u; ls /bin/busybox'
	kn_assert_status 0
	kn_assert_eq $'1000\n/bin/busybox' "$output"
}

@test "--bind with a missing source fails with 125 and a kennel: message" {
	run --separate-stderr kn_sandbox --bind /nonexistent/kn-bind-src:/var/tmp -- /bin/true
	kn_assert_status 125
	assert_kennel_error
	[[ $stderr == */nonexistent/kn-bind-src* ]] || kn_fail "message does not name the source: '$stderr'"
}

@test "no host path is visible" {
	local marker
	marker=$(kn_tmpdir)
	touch "$marker/kn-host-only"
	run --separate-stderr kn_sandbox -- sh -c "ls $marker 2>&1; ls /home"
	[[ $output != *kn-host-only* ]] || kn_fail "host temp dir visible inside: $output"
	kn_assert_eq claude "$(sed -n '$p' <<<"$output")" "/home inside"
}

@test "/dev is minimal and works" {
	run --separate-stderr kn_sandbox -- sh -c 'echo x >/dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c && ls /dev'
	kn_assert_status 0
	kn_assert_eq $'4\n4' "$(sed -n '1,2p' <<<"$output" | sed 's/^ *//')"
	if grep -Ex '(sd[a-z].*|vd[a-z].*|nvme.*|loop[0-9].*|mem|kmem|port|kmsg|mapper|dm-.*|fuse|kvm)' <<<"$output"; then
		kn_fail "host devices visible in /dev: $output"
	fi
}

@test "/proc is the sandbox's own" {
	run --separate-stderr kn_sandbox -- sh -c 'ls /proc | grep -c "^[0-9][0-9]*$"'
	kn_assert_status 0
	((output <= 6)) || kn_fail "$output pids in /proc: host /proc?"
}

# ------------------------------------------------------ identity, env, host

@test "id -u and id -g are 1000 (claude)" {
	run --separate-stderr kn_sandbox -- sh -c 'id -u; id -g; id -un'
	kn_assert_status 0
	kn_assert_eq $'1000\n1000\nclaude' "$output"
}

@test "--env K=V is visible inside" {
	run --separate-stderr kn_sandbox --env KN_FOO=bar --env KN_EMPTY= --env 'KN_SPACE=a b' -- sh -c 'echo "$KN_FOO|${KN_EMPTY-unset}|$KN_SPACE"'
	kn_assert_status 0
	kn_assert_eq "bar||a b" "$output"
}

@test "the host environment does not leak in" {
	export KN_SECRET_TOKEN=hunter2-do-not-leak AWS_SECRET_ACCESS_KEY=kn-aws-secret
	run --separate-stderr kn_sandbox -- env
	kn_assert_status 0
	[[ $output != *hunter2-do-not-leak* && $output != *kn-aws-secret* ]] ||
		kn_fail "host variables visible inside: $output"
	grep -qx 'HOME=/home/claude' <<<"$output" || kn_fail "HOME is not /home/claude: $output"
	grep -q '^PATH=/' <<<"$output" || kn_fail "no PATH: $output"
	local n
	n=$(grep -c '=' <<<"$output")
	((n <= 8)) || kn_fail "$n variables inside, expected a clean environment: $output"
}

@test "TERM is passed when set" {
	TERM=kn-test-term run --separate-stderr kn_sandbox -- sh -c 'echo "$TERM"'
	kn_assert_status 0
	kn_assert_eq kn-test-term "$output"
}

@test "default hostname is kennel" {
	run --separate-stderr kn_sandbox -- hostname
	kn_assert_status 0
	kn_assert_eq kennel "$output"
}

@test "--hostname sets the hostname" {
	run --separate-stderr kn_sandbox --hostname kn-box -- sh -c 'hostname; cat /proc/sys/kernel/hostname'
	kn_assert_status 0
	kn_assert_eq $'kn-box\nkn-box' "$output"
	[[ $(hostname) != kn-box ]] || kn_fail "host's hostname changed"
}

# ---------------------------------------------------------------- processes

@test "pid 1 is kennel's init, not the command" {
	run --separate-stderr kn_sandbox -- sh -c 'echo $$; cat /proc/1/comm'
	kn_assert_status 0
	local pid comm1
	pid=$(sed -n 1p <<<"$output")
	comm1=$(sed -n 2p <<<"$output")
	((pid > 1 && pid < 10)) || kn_fail "the command's pid is $pid, expected small and not 1"
	[[ -n $comm1 && $comm1 != sh ]] || kn_fail "pid 1 is '$comm1'"
}

@test "orphaned zombies are reaped" {
	# The subshell exits at once, so its child is orphaned to pid 1; the
	# child exits too and stays a zombie unless pid 1 reaps it.
	run --separate-stderr kn_sandbox -- sh -c '(sh -c "exit 0" &); sleep 1; n=$(ps -o stat | grep -c Z); echo "$n"'
	kn_assert_status 0
	kn_assert_eq 0 "$output" "zombies inside (ps -o stat | grep -c Z)"
}

@test "no host process is visible" {
	run --separate-stderr kn_sandbox -- ps -o pid,user,comm
	kn_assert_status 0
	local lines
	lines=$(wc -l <<<"$output")
	# header, init, ps (and perhaps one helper)
	((lines <= 5)) || kn_fail "ps lists $lines lines: $output"
	[[ $output != *process_api* && $output != *bats* ]] || kn_fail "host processes visible: $output"
}

@test "--network none: only lo" {
	run --separate-stderr kn_sandbox --network none -- sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
	kn_assert_status 0
	kn_assert_eq lo "$output"
}

@test "default network: the allowlist gateway (lo and eth0; network.bats tests the rest)" {
	run --separate-stderr kn_sandbox -- sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort | tr "\n" " "'
	kn_assert_status 0
	kn_assert_eq "eth0 lo " "$output"
}

@test "loopback is up" {
	run --separate-stderr kn_sandbox --network none -- sh -c 'ip -o link show lo'
	kn_assert_status 0
	[[ $output == *"UP"* || $output == *"UNKNOWN"* ]] || kn_fail "lo is not up: $output"
	[[ $output != *"state DOWN"* ]] || kn_fail "lo is down: $output"
}

# ----------------------------------------------------------------------- OCI

# write_bundle DIR ARGS_JSON: a bundle from kennel-oci's own spec, with
# root.path pointing at the test rootfs.
write_bundle() {
	local dir=$1 args=$2 spec_args=()
	[[ $(id -u) -eq 0 ]] || spec_args=(--rootless)
	mkdir -p "$dir"
	(cd "$dir" && kn_oci spec "${spec_args[@]}" >config.json) || return 1
	python3 - "$dir/config.json" "$KENNEL_ROOTFS" "$args" <<'EOF'
import json, sys
path, rootfs, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with open(path) as f:
    spec = json.load(f)
spec['root']['path'] = rootfs
spec['process']['args'] = args
spec['process']['terminal'] = False
with open(path, 'w') as f:
    json.dump(spec, f, indent=2)
EOF
}

@test "kennel-oci spec prints valid JSON with args [sh] and root.path rootfs" {
	run --separate-stderr kn_oci spec
	kn_assert_status 0
	python3 -m json.tool <<<"$output" >/dev/null || kn_fail "not JSON: $output"
	run python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["process"]["args"], s["root"]["path"])' <<<"$output"
	kn_assert_eq "['sh'] rootfs" "$output"
}

@test "kennel-oci spec --rootless has a user namespace" {
	run --separate-stderr kn_oci spec --rootless
	kn_assert_status 0
	run python3 -c '
import json, sys
s = json.load(sys.stdin)
print("user" in [n["type"] for n in s["linux"]["namespaces"]])' <<<"$output"
	kn_assert_eq True "$output"
}

@test "kennel-oci run --bundle passes the exit status (7)" {
	local b
	b=$(kn_tmpdir)/bundle
	write_bundle "$b" '["/bin/sh","-c","echo oci-out; exit 7"]'
	run --separate-stderr kn_oci run --bundle "$b" "kn-test-$BASHPID-$RANDOM"
	kn_assert_status 7
	[[ $output == *oci-out* ]] || kn_fail "stdout not passed through: $output"
}

# edit_bundle DIR PYTHON: run PYTHON with `spec` loaded from DIR/config.json, then save it.
edit_bundle() {
	python3 - "$1/config.json" "$2" <<'EOF2'
import json, sys
path, code = sys.argv[1], sys.argv[2]
with open(path) as f:
    spec = json.load(f)
exec(code)
with open(path, 'w') as f:
    json.dump(spec, f, indent=2)
EOF2
}

@test "/sys is absent by default" {
	run --separate-stderr kn_sandbox -- sh -c 'ls -A /sys | wc -l; mount | grep -c " /sys " || true'
	kn_assert_status 0
	kn_assert_eq $'0\n0' "$(sed 's/^ *//' <<<"$output")"
}

@test "kennel-oci: a spec's sysfs mount is there, read-only" {
	local b
	b=$(kn_tmpdir)/bundle
	write_bundle "$b" '["/bin/sh","-c","ls /sys/class/net; { touch /sys/kn-x; } 2>&1 || true"]'
	edit_bundle "$b" 'spec["mounts"].append({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev"]})'
	run --separate-stderr kn_oci run --bundle "$b" "kn-test-$BASHPID-$RANDOM"
	kn_assert_status 0
	[[ $output == lo* ]] || kn_fail "expected only lo in /sys/class/net: $output"
	[[ $output == *"Read-only file system"* ]] || kn_fail "/sys is writable: $output"
}

@test "kennel-oci: a spec with id ranges maps uid 0 inside to a subordinate id, with no capabilities" {
	local b host_id
	if [[ $(id -u) -eq 0 ]]; then
		host_id=200000
	else
		host_id=$(awk -F: -v u="$(id -un)" -v n="$(id -u)" '($1 == u || $1 == n) { print $2; exit }' /etc/subuid)
		[[ -n $host_id ]] || kn_skip "no /etc/subuid range for $(id -un)"
		command -v newuidmap >/dev/null || kn_skip "newuidmap is not installed (package uidmap)"
	fi
	b=$(kn_tmpdir)/bundle
	write_bundle "$b" '["/bin/sh","-c","id -u; cat /proc/self/uid_map; grep CapEff /proc/self/status"]'
	edit_bundle "$b" "
spec['process']['user'] = {'uid': 0, 'gid': 0}
spec['linux']['uidMappings'] = [{'containerID': 0, 'hostID': $host_id, 'size': 65536}]
spec['linux']['gidMappings'] = [{'containerID': 0, 'hostID': $host_id, 'size': 65536}]
"
	run --separate-stderr kn_oci run --bundle "$b" "kn-test-$BASHPID-$RANDOM"
	kn_assert_status 0
	kn_assert_eq "0" "$(sed -n 1p <<<"$output")" "uid inside"
	kn_assert_eq "0 $host_id 65536" "$(sed -n 2p <<<"$output" | tr -s ' ' | sed 's/^ //')" "uid_map"
	kn_assert_eq $'CapEff:\t0000000000000000' "$(sed -n 3p <<<"$output")" "effective capabilities"
}

@test "kennel-oci: mapping to host root and joining a host namespace are refused (125)" {
	local b
	b=$(kn_tmpdir)/bundle
	write_bundle "$b" '["/bin/true"]'
	edit_bundle "$b" "
spec['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 0, 'size': 1}]
spec['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 0, 'size': 1}]
spec['process']['user'] = {'uid': 0, 'gid': 0}
"
	run --separate-stderr kn_oci run --bundle "$b" "kn-test-$BASHPID-$RANDOM"
	kn_assert_status 125
	[[ $stderr == *"host root"* ]] || kn_fail "message does not say why: $stderr"

	write_bundle "$b" '["/bin/true"]'
	edit_bundle "$b" 'spec["linux"]["namespaces"].append({"type": "network", "path": "/proc/1/ns/net"})'
	run --separate-stderr kn_oci run --bundle "$b" "kn-test-$BASHPID-$RANDOM"
	kn_assert_status 125
	[[ $stderr == *"linux.namespaces"* ]] || kn_fail "message does not name the field: $stderr"
}

@test "user namespaces disabled: 125 and the sysctl that fixes it" {
	command -v unshare >/dev/null || kn_skip "unshare (util-linux) is not installed"
	# user.max_user_namespaces is per user namespace: set it to 0 in a
	# namespace of our own, not on the host.  (--audit-log: uid 0 there
	# would otherwise default to root's audit log, /var/log/kennel, which
	# that namespace cannot write; the subject here is the userns message.)
	run --separate-stderr timeout -k 5 "$KN_TIMEOUT" unshare -U -r sh -c \
		'echo 0 >/proc/sys/user/max_user_namespaces && exec "$0" sandbox --audit-log "$2" --rootfs "$1" -- /bin/true' \
		"$KENNEL" "$KENNEL_ROOTFS" "$(kn_audit_log)"
	kn_assert_status 125
	assert_kennel_error
	[[ $stderr == *"sysctl -w user.max_user_namespaces="* ]] || kn_fail "no fix in the message: $stderr"
}

@test "as root: a user without subordinate ids gets the usermod command that fixes it" {
	if [[ $(id -u) -ne 0 ]]; then
		kn_skip_optional "n/a: needs root to become a user without /etc/subuid entries"
	fi
	local d b
	d=$(kn_tmpdir)
	cp "$KENNEL" "$d/kennel-oci"
	b=$d/bundle
	write_bundle "$b" '["/bin/true"]'
	edit_bundle "$b" "
spec['process']['user'] = {'uid': 0, 'gid': 0}
spec['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 300000, 'size': 65536}]
spec['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 300000, 'size': 65536}]
"
	chmod -R a+rX "$d"
	! grep -q '^nobody:\|^65534:' /etc/subuid || kn_skip_optional "n/a: nobody has a /etc/subuid range here"
	run --separate-stderr timeout -k 5 "$KN_TIMEOUT" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$d/kennel-oci" run --bundle "$b" "kn-test-$BASHPID"
	kn_assert_status 125
	[[ $stderr == *"usermod --add-subuids"* || $stderr == *"apt-get install uidmap"* ]] || kn_fail "no fix in the message: $stderr"
}

@test "a symlink in the rootfs cannot aim a mount at a host path" {
	local d host
	d=$(kn_tmpdir)
	host=$d/host-target
	mkdir "$host"
	echo host-secret >"$host/marker"
	cp -a "$KENNEL_ROOTFS" "$d/rootfs"
	# /run and /home/claude are mount targets; make them escape attempts.
	rm -rf "$d/rootfs/run" "$d/rootfs/home/claude"
	ln -s "../../../../../../../../..$host" "$d/rootfs/run"
	ln -s "$host" "$d/rootfs/home/claude"
	chmod -R a+rX "$d"
	run --separate-stderr timeout -k 5 "$KN_TIMEOUT" "$KENNEL" sandbox --rootfs "$d/rootfs" $KN_HOST_ARGS \
		-- sh -c 'cat /run/marker /home/claude/marker 2>&1; echo done'
	[[ $output != *host-secret* && $stderr != *host-secret* ]] || kn_fail "the host directory was reachable: $output"
	# Either kennel refuses (the target resolves inside the rootfs, where it is missing) or the
	# mount lands inside the rootfs; never on the host path.
	[[ $status -eq 125 || $output == *done* ]] || kn_fail "unexpected status $status: $output $stderr"
	kn_assert_eq host-secret "$(cat "$host/marker")" "host marker"
	[[ $(find "$host" -mindepth 1 | wc -l) -eq 1 ]] || kn_fail "something was created in the host directory"
}
