#!/usr/bin/env bats
# Claude Code's hooks decided outside the sandbox (issue 5): the shim inside
# `kennel sandbox` forwards a hook event to kennel, which answers with the
# command policy's decision; the shim fails closed without an answer; the
# managed settings, the shim and the socket are read-only inside; the
# decisions land in the audit log on the host, which the sandbox cannot see.

load ../helpers/common

SHIM=/usr/libexec/kennel/kennel-hook

setup() {
	kn_require_kennel
	kn_require_userns
	kn_workspace
}

teardown() {
	kn_cleanup
}

# event TOOL_INPUT_JSON [TOOL] [EVENT]: a hook event as Claude Code writes it.
event() {
	printf '{"session_id":"s1","transcript_path":"/tmp/t.jsonl","cwd":"/workspace","hook_event_name":"%s","tool_name":"%s","tool_input":%s}' \
		"${3:-PreToolUse}" "${2:-Bash}" "$1"
}

# decision JSON: the permissionDecision (or PermissionRequest behavior) in a hook output.
decision() {
	python3 -c 'import json,sys
o = json.loads(sys.stdin.read() or "{}").get("hookSpecificOutput", {})
print(o.get("permissionDecision") or o.get("decision", {}).get("behavior") or "none")' <<<"$1"
}

@test "the shim gets the supervisor's decision: deny for rm -rf /, allow for ls, ask for terraform apply" {
	local d
	d=$(kn_tmpdir)
	event '{"command":"rm -rf /"}' >"$d/deny.json"
	event '{"command":"ls -la"}' >"$d/allow.json"
	event '{"command":"sudo terraform apply -auto-approve"}' >"$d/ask.json"
	chmod -R a+rX "$d"
	run --separate-stderr kn_sandbox --workspace "$KN_WORKSPACE" --bind "$d:/tmp/ev:ro" -- sh -c "
		for e in deny allow ask; do $SHIM PreToolUse </tmp/ev/\$e.json; echo; done"
	kn_assert_status 0
	mapfile -t lines <<<"$output"
	kn_assert_eq deny "$(decision "${lines[0]}")" "rm -rf / (${lines[0]})"
	kn_assert_eq allow "$(decision "${lines[1]}")" "ls (${lines[1]})"
	kn_assert_eq ask "$(decision "${lines[2]}")" "terraform apply (${lines[2]})"
	[[ ${lines[0]} == *permissionDecisionReason* ]] || kn_fail "no reason: ${lines[0]}"
}

@test "every decision is in the host's audit log, with the rule id" {
	local d log
	d=$(kn_tmpdir)
	event '{"command":"git push --force origin main"}' >"$d/e.json"
	chmod -R a+rX "$d"
	run --separate-stderr kn_sandbox --bind "$d:/tmp/ev:ro" -- sh -c "$SHIM PreToolUse </tmp/ev/e.json"
	kn_assert_status 0
	log=$(kn_audit_log)
	python3 - "$log" <<'PY'
import json, sys
hooks = [e for e in map(json.loads, open(sys.argv[1])) if e.get("kind") == "hook"]
assert hooks, "no hook event in the audit log"
e = hooks[-1]
assert e.get("decision") == "deny", e
assert "git push --force" in (e.get("command") or e.get("target") or ""), e
assert e.get("rule"), e
assert e.get("session") and e.get("time"), e
PY
}

@test "managed settings, shim and socket are read-only inside; settings point every event at the shim" {
	run --separate-stderr kn_sandbox -- sh -c '
		cat /etc/claude-code/managed-settings.json
		echo ---
		{ echo x >>/etc/claude-code/managed-settings.json; } 2>&1 || true
		{ cp /bin/busybox '"$SHIM"'; } 2>&1 || true
		{ touch /run/kennel/x; } 2>&1 || true
		{ mv /run/kennel /run/k2; } 2>&1 || true
		ls /run/kennel'
	kn_assert_status 0
	python3 - <<PY
import json
text = """$output""".split("---")[0]
s = json.loads(text)
assert s["allowManagedHooksOnly"] is True, s
assert s["disableAllHooks"] is False, s
for ev in ["PreToolUse", "PermissionRequest", "Notification", "Stop", "SubagentStop", "SessionStart", "SessionEnd", "UserPromptSubmit"]:
    h = s["hooks"][ev][0]["hooks"][0]
    assert h["command"].startswith("$SHIM " + ev), (ev, h)
    assert h["timeout"] >= 2, h
assert s["hooks"]["PreToolUse"][0]["matcher"] == "*"
assert s["env"]["DISABLE_AUTOUPDATER"] == "1"
PY
	[[ $(grep -c -E "Read-only file system|Device or resource busy|Permission denied" <<<"$output") -ge 4 ]] ||
		kn_fail "something was writable: $output"
	[[ ${output##*---} == *policy.sock* ]] || kn_fail "no socket in /run/kennel: $output"
	[[ $(tail -n 1 <<<"$output") == policy.sock ]] || kn_fail "/run/kennel holds more than the socket: $output"
}

@test "the shim denies within its deadline when the supervisor does not answer (stopped)" {
	local d ms
	d=$KN_WORKSPACE
	event '{"command":"ls"}' >"$d/e.json"
	chmod a+r "$d/e.json"
	kn_start_bg --workspace "$KN_WORKSPACE" -- sh -c "
		while [ ! -e /workspace/go ]; do sleep 0.05; done
		s=\$(cut -d' ' -f1 /proc/uptime)
		$SHIM PreToolUse --deadline-ms 1000 </workspace/e.json >/workspace/out 2>/workspace/err
		e=\$(cut -d' ' -f1 /proc/uptime)
		awk \"BEGIN { print int((\$e - \$s) * 1000) }\" >/workspace/ms"
	sleep 0.5
	kill -STOP "$KN_BG_PID"
	touch "$d/go"
	for _ in $(seq 50); do [[ -s $d/ms ]] && break; sleep 0.1; done
	kill -CONT "$KN_BG_PID"
	kn_wait_status "$KN_BG_PID" 10
	[[ -s $d/ms ]] || kn_fail "the shim did not finish while kennel was stopped ($(cat "$KN_BG_LOG"))"
	ms=$(cat "$d/ms")
	kn_assert_eq deny "$(decision "$(cat "$d/out")")" "answer without a supervisor: $(cat "$d/out")"
	((ms >= 900 && ms < 3000)) || kn_fail "the shim gave up after $ms ms, expected about its 1000 ms deadline"
}

@test "the shim refuses a server inside the sandbox's pid namespace (SO_PEERCRED)" {
	# On the host the shim's peer (this python server) has a pid the shim can
	# see, exactly as a server started inside the sandbox would: refused.
	local d shim server
	shim=$KENNEL_BUILD/hooks/kennel-hook
	[[ -x $shim ]] || kn_fail "no $shim"
	d=$(kn_tmpdir)
	python3 - "$d/fake.sock" 3>&- <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); c.recv(1 << 20)
answer = b'{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow"}}'
c.sendall(len(answer).to_bytes(4, "big") + answer)
PY
	server=$!
	for _ in $(seq 50); do [[ -S $d/fake.sock ]] && break; sleep 0.05; done
	run --separate-stderr "$shim" PreToolUse --socket "$d/fake.sock" --deadline-ms 2000 <<<"$(event '{"command":"rm -rf /"}')"
	kill "$server" 2>/dev/null || true
	wait "$server" 2>/dev/null || true
	kn_assert_status 0
	kn_assert_eq deny "$(decision "$output")" "a fake server's allow was taken: $output"
	[[ $stderr == *"runs inside the sandbox"* ]] || kn_fail "no reason on stderr: $stderr"
}

@test "kennel policy check: a malformed event is denied with a reason, not a crash" {
	run --separate-stderr "$KENNEL" policy check <<<'{"hook_event_name": "PreToolUse", "tool_name": "Bash", '
	kn_assert_status 0
	kn_assert_eq deny "$(decision "$output")" "malformed event: $output"
}

@test "the audit log is nowhere in the sandbox: no mount of it, no path to it" {
	local log
	log=$(kn_audit_log)
	run --separate-stderr kn_sandbox -- sh -c "cat /proc/self/mountinfo; echo ---; ls '$log' 2>&1; ls '$(dirname "$log")' 2>&1; true"
	kn_assert_status 0
	[[ ${output%%---*} != *audit* ]] || kn_fail "the audit log is mounted inside the sandbox: $output"
	[[ $(grep -c "No such file or directory" <<<"${output#*---}") -eq 2 ]] ||
		kn_fail "the host's audit log or its directory is reachable: $output"
	[[ -s $log ]] || kn_fail "kennel wrote no audit log at $log"
}
