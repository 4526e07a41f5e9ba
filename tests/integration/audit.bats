#!/usr/bin/env bats
# shellcheck disable=SC2154  # stderr, output, lines, status come from bats' run
# The audit log (issue 5): several writer processes at once, rotation,
# kill -9 in the middle of a write, and `kennel audit`, the reader.
#
# The writers are the unit test binary run as a driver
# (tests/unit/test_audit.c: `test_audit write PATH COUNT ...`, each process a
# session of its own, events "0".."COUNT-1" in their "target"), so these
# tests need no sandbox, no namespace and no root.  Everything happens in
# a temporary directory, never in the invoking user's ~/.local/state or
# /var/log.
#
# Environment: KENNEL (the kennel binary, for `kennel audit`); the driver
# is KENNEL_AUDIT_DRIVER, else $KENNEL_BUILD/tests/unit/test_audit.

bats_require_minimum_version 1.5.0
# Every event is fsync'd: these tests are bound by the disk's flush latency,
# which a host busy writing back (or discarding) can stretch tenfold; give
# each test more than bats' default budget rather than fail on a slow disk.
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}
load ../helpers/common

PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

setup_file() {
	[[ -n ${KENNEL:-} && -x $KENNEL ]] ||
		kn_fail "KENNEL=${KENNEL:-} is not an executable file (build first: meson compile -C build)"
	DRIVER=${KENNEL_AUDIT_DRIVER:-${KENNEL_BUILD:-}/tests/unit/test_audit}
	[[ -x $DRIVER ]] ||
		kn_fail "the audit test driver $DRIVER is not built (meson compile -C build tests/unit/test_audit, or set KENNEL_AUDIT_DRIVER)"
	export DRIVER
}

setup() {
	DIR=$(kn_tmpdir)
	LOG=$DIR/state/kennel/audit.log
}

teardown() {
	local p
	for p in ${WRITERS:-}; do
		kill -9 "$p" 2>/dev/null || true
	done
	if [[ -n ${FOLLOWER:-} ]]; then
		kill -9 "$FOLLOWER" 2>/dev/null || true
	fi
	kn_cleanup
}

# writers N COUNT ARGS...: start N driver processes writing COUNT events each to $LOG; pids in WRITERS
writers() {
	local n=$1 count=$2 i
	shift 2
	WRITERS=""
	for ((i = 0; i < n; i++)); do
		"$DRIVER" write "$LOG" "$count" "$@" >"$DIR/writer.$i.out" 2>&1 &
		WRITERS+=" $!"
	done
}

# wait_writers: every writer exited 0
wait_writers() {
	local p st=0
	for p in $WRITERS; do
		wait "$p" || st=$?
		((st == 0)) || kn_fail "writer $p exited $st: $(cat "$DIR"/writer.*.out)"
	done
	WRITERS=""
}

# check_log MAX_BYTES KEEP COUNT_PER_WRITER WRITERS MODE: every line of every file
# parses, no file passes MAX_BYTES, no rotated file beyond KEEP; MODE "all": each
# writer's COUNT events are all there, in order; "tail": each writer's events form
# a gap-free run that ends with its last event (the oldest files were dropped).
check_log() {
	"$PY" - "$LOG" "$@" <<'EOF'
import json, os, sys
log, max_bytes, keep, count, writers, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
problems = []
files = [f"{log}.{i}" for i in range(keep + 5, 0, -1)] + [log]
present = [f for f in files if os.path.exists(f)]
for f in present:
    suffix = f[len(log):]
    if suffix and int(suffix[1:]) > keep:
        problems.append(f"{f} exists: more than {keep} rotated files")
    if os.path.getsize(f) > max_bytes:
        problems.append(f"{f} is {os.path.getsize(f)} bytes, over {max_bytes}")
    if os.stat(f).st_mode & 0o777 != 0o600:
        problems.append(f"{f} has mode {oct(os.stat(f).st_mode & 0o777)}")
seqs = {}
for f in present:
    data = open(f, "rb").read()
    if data and not data.endswith(b"\n"):
        problems.append(f"{f} ends without a newline")
    for n, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            e = json.loads(line)
            seqs.setdefault(e["session"], []).append(int(e["target"]))
        except Exception as err:
            problems.append(f"{f}:{n} does not parse ({err}): {line[:120]!r}")
            break
# with the oldest files dropped, a writer that finished early may be gone entirely
if len(seqs) != writers and not (mode == "tail" and 0 < len(seqs) < writers):
    problems.append(f"{len(seqs)} sessions, {writers} expected")
for s, got in seqs.items():
    want = list(range(count)) if mode == "all" else list(range(count - len(got), count))
    if got != want:
        lost = sorted(set(want) - set(got))[:5]
        problems.append(f"session {s[:8]}: {len(got)} events, first missing {lost}, in order: {got == sorted(got)}")
rotated = len(present) - (1 if os.path.exists(log) else 0)
print(f"files {len(present)} (rotated {rotated}), events {sum(map(len, seqs.values()))}")
for p in problems[:20]:
    print(p)
sys.exit(1 if problems else 0)
EOF
}

@test "8 writer processes x 10,000 events at once: nothing lost, no line interleaved, order kept, rotated at 10 MiB" {
	umask 000 # the modes must not come from the umask
	writers 8 10000 --pad 300
	wait_writers
	# ~45 MB of events: four or so rotations at the real 10 MiB limit, nothing dropped yet
	run check_log $((10 * 1024 * 1024)) 5 10000 8 all
	echo "$output"
	kn_assert_status 0
	[[ -f $LOG.3 ]] || kn_fail "expected at least 3 rotations at 10 MiB: $output"
	kn_assert_eq 700 "$(stat -c %a "$DIR/state/kennel")" "mode of the created log directory"
	kn_assert_eq 700 "$(stat -c %a "$DIR/state")" "mode of the created parent directory"

	# the reader sees the same 80,000 events, and one writer's 10,000 by a prefix of its session
	run --separate-stderr "$KENNEL" audit --json --file "$LOG"
	kn_assert_status 0
	kn_assert_eq 80000 "${#lines[@]}" "events kennel audit --json prints"
	kn_assert_eq "" "$stderr" "kennel audit's stderr"
	local session
	session=$(sed -n 's/^session //p' "$DIR/writer.3.out")
	run "$KENNEL" audit --file "$LOG" --session "${session:0:6}"
	kn_assert_status 0
	kn_assert_eq 10000 "${#lines[@]}" "events of session ${session:0:6}"
}

@test "rotation keeps 5 files: the oldest go, every writer keeps a gap-free tail" {
	writers 8 10000 --max-bytes 1048576
	wait_writers
	run check_log 1048576 5 10000 8 tail
	echo "$output"
	kn_assert_status 0
	local i
	for i in 1 2 3 4 5; do
		[[ -s $LOG.$i ]] || kn_fail "$LOG.$i is missing or empty"
	done
	[[ ! -e $LOG.6 ]] || kn_fail "$LOG.6 exists"
	[[ -s $LOG ]] || kn_fail "no current file"
	# the reader prints them oldest first: within each session, ascending
	run "$PY" -c '
import json, sys
last = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    s, n = e["session"], int(e["target"])
    if s in last and last[s] + 1 != n:
        sys.exit("%s: %d after %d" % (s[:8], n, last[s]))
    last[s] = n
print("in order")' <("$KENNEL" audit --json --file "$LOG")
	echo "$output"
	kn_assert_status 0
	kn_assert_eq "in order" "$output" "reader order"
}

# lines_after_kill [strict]: every complete line of every file parses; prints
# "LINES TORN" (TORN 1: the current file ends in a fragment); strict: no fragment
lines_after_kill() {
	"$PY" - "$LOG" "${1:-}" <<'EOF'
import json, os, sys
log, strict = sys.argv[1], sys.argv[2] == "strict"
n = torn = 0
for f in [f"{log}.{i}" for i in range(5, 0, -1)] + [log]:
    if not os.path.exists(f):
        continue
    parts = open(f, "rb").read().split(b"\n")
    for i, line in enumerate(parts[:-1], 1):
        try:
            json.loads(line)
        except ValueError as err:
            sys.exit(f"{f}:{i}: {err}: {line[:80]!r}...")
        n += 1
    if parts[-1]:
        if f != log or strict:
            sys.exit(f"{f} ends without a newline")
        torn = 1
print(n, torn)
EOF
}

@test "kill -9 in the middle of writes leaves only lines that parse; the next writer cuts a torn tail" {
	local round torn=0 n
	for round in 1 2 3 4 5 6 7 8; do
		# 100 kB events: a batch is many pages, so a kill often lands inside a write
		# (about one round in three leaves a torn tail on this kind of machine)
		writers 8 0 --pad 100000
		sleep 0.$((RANDOM % 4 + 2))
		# shellcheck disable=SC2086
		kill -9 $WRITERS
		# shellcheck disable=SC2086
		wait $WRITERS 2>/dev/null || true
		WRITERS=""
		run lines_after_kill
		echo "round $round: $output"
		kn_assert_status 0
		n=${output% *}
		((${output#* } == 0)) || torn=$((torn + 1))
		# the reader finds every complete line (also when a kill left a gap
		# in the rotated files), and quietly skips a torn tail
		run --separate-stderr "$KENNEL" audit --json --file "$LOG"
		kn_assert_status 0
		kn_assert_eq "$n" "${#lines[@]}" "events kennel audit reads"
		kn_assert_eq "" "$stderr" "kennel audit's stderr"
		# the next writer cuts a torn tail before it appends
		"$DRIVER" emit "$LOG" --kind lifecycle --decision info --target "after-kill-$round"
		run lines_after_kill strict
		kn_assert_status 0
		[[ $(tail -n 1 "$LOG") == *'"target":"after-kill-'$round'"'* ]] || kn_fail "last line: $(tail -c 200 "$LOG")"
	done
	echo "torn tails seen: $torn of 8 rounds"
}

@test "a torn tail left by a crash is cut before the next event" {
	mkdir -p "$(dirname "$LOG")"
	printf '%s\n' '{"time":"2025-06-01T12:00:00.000Z","session":"aa","kind":"lifecycle","decision":"info"}' >"$LOG"
	printf '%s' '{"time":"2025-06-01T12:00:01.000Z","session":"aa","ki' >>"$LOG"
	"$DRIVER" emit "$LOG" --kind lifecycle --decision info --target next
	run "$PY" -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], "rb").read().split(b"\n")[:-1]]
print(len(lines), lines[1]["target"])' "$LOG"
	kn_assert_status 0
	kn_assert_eq "2 next" "$output" "lines after the repair"
}

# raw LINE...: append JSON lines as they are (events of any time)
raw() {
	mkdir -p "$(dirname "$LOG")"
	printf '%s\n' "$@" >>"$LOG"
}

@test "kennel audit: human lines, --json, --session prefix, terminal escapes neutralised" {
	"$DRIVER" emit "$LOG" --session aaaabbbbccccddddeeeeffff00001111 --kind hook --tool Bash \
		--command 'git push -f origin main' --decision deny --rule git-force-push --reason 'force push'
	"$DRIVER" emit "$LOG" --session 9999bbbbccccddddeeeeffff00001111 --kind dns --name other.test --qtype A \
		--decision deny --reason 'name not allowed: NXDOMAIN'
	"$DRIVER" emit "$LOG" --session 9999bbbbccccddddeeeeffff00001111 --kind flow --name allowed.test \
		--address 198.51.100.10 --port 443 --decision allow --reason 'allowed'
	"$DRIVER" emit "$LOG" --session aaaabbbbccccddddeeeeffff00001111 --kind hook --tool Bash \
		--command $'printf \e]0;owned\a\e[2J' --decision allow

	run --separate-stderr "$KENNEL" audit --file "$LOG"
	kn_assert_status 0
	kn_assert_eq 4 "${#lines[@]}" "lines"
	[[ ${lines[0]} == 20??-??-??T??:??:??.???Z\ aaaabbbb\ \ hook\ \ \ \ \ \ deny\ \ Bash:\ git\ push\ -f\ origin\ main\ --\ force\ push\ \[rule\ git-force-push\] ]] ||
		kn_fail "line 1: ${lines[0]}"
	[[ ${lines[1]} == *" 9999bbbb  dns       deny  A other.test -- name not allowed: NXDOMAIN" ]] || kn_fail "line 2: ${lines[1]}"
	[[ ${lines[2]} == *" flow      allow allowed.test 198.51.100.10:443 -- allowed" ]] || kn_fail "line 3: ${lines[2]}"
	[[ ${lines[3]} == *'Bash: printf \x1b]0;owned\x07\x1b[2J' ]] || kn_fail "line 4: ${lines[3]}"
	[[ $output != *$'\e'* && $output != *$'\a'* ]] || kn_fail "a raw control character reached the terminal"

	run "$KENNEL" audit --file "$LOG" --session 9999B
	kn_assert_status 0
	kn_assert_eq 2 "${#lines[@]}" "events of session 9999b (any case)"
	run "$KENNEL" audit --file "$LOG" --session aaaabbbbccccddddeeeeffff00001111 --json
	kn_assert_status 0
	kn_assert_eq 2 "${#lines[@]}" "events of the full session id"
	# --json: the events as written, one object per line
	run "$PY" -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in sys.stdin]
assert a == b, (a, b)
print("same")' "$LOG" < <("$KENNEL" audit --json --file "$LOG")
	kn_assert_status 0
	run "$KENNEL" audit --file "$LOG" --session 0000
	kn_assert_status 0
	kn_assert_eq "" "$output" "no event of session 0000"
}

@test "kennel audit --since: RFC 3339 times, dates and relative times" {
	local now old
	now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
	old=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%S.000Z)
	raw '{"time":"2024-01-01T00:00:00.000Z","session":"s1","kind":"lifecycle","decision":"info","target":"new year"}' \
		'{"time":"'"$old"'","session":"s1","kind":"lifecycle","decision":"info","target":"an hour ago"}' \
		'{"time":"'"$now"'","session":"s1","kind":"lifecycle","decision":"info","target":"now"}'
	run "$KENNEL" audit --file "$LOG" --since 10m
	kn_assert_status 0
	kn_assert_eq 1 "${#lines[@]}" "events of the last 10 minutes: $output"
	[[ $output == *" now" ]] || kn_fail "$output"
	run "$KENNEL" audit --file "$LOG" --since 2h
	kn_assert_eq 2 "${#lines[@]}" "events of the last 2 hours"
	run "$KENNEL" audit --file "$LOG" --since 2024-01-01
	kn_assert_eq 3 "${#lines[@]}" "events since 2024-01-01"
	run "$KENNEL" audit --file "$LOG" --since 2024-01-01T00:00:00.001Z
	kn_assert_eq 2 "${#lines[@]}" "events after the new year's first millisecond"
	run "$KENNEL" audit --file "$LOG" --since 2024-01-01T01:00:00+01:00
	kn_assert_eq 3 "${#lines[@]}" "an offset: 01:00+01:00 is midnight UTC"
	run --separate-stderr "$KENNEL" audit --file "$LOG" --since yesterday
	kn_assert_status 2
	[[ $stderr == *"--since 'yesterday'"* ]] || kn_fail "$stderr"
}

@test "kennel audit: rotated files oldest first, a bad line skipped with a warning, no log, bad options" {
	mkdir -p "$(dirname "$LOG")"
	local i
	for i in 3 2 1; do
		printf '{"time":"2025-06-01T12:00:0%s.000Z","session":"s","kind":"lifecycle","decision":"info","target":"file %s"}\n' "$i" ".$i" >"$LOG.$i"
	done
	printf '%s\n' 'not json' '{"time":"2025-06-01T12:00:09.000Z","session":"s","kind":"lifecycle","decision":"info","target":"current"}' >"$LOG"
	run --separate-stderr "$KENNEL" audit --file "$LOG"
	kn_assert_status 0
	kn_assert_eq 4 "${#lines[@]}" "events"
	[[ ${lines[0]} == *"file .3" && ${lines[1]} == *"file .2" && ${lines[2]} == *"file .1" && ${lines[3]} == *current ]] ||
		kn_fail "order: $output"
	[[ $stderr == *"$LOG:1: not an audit event, skipped"* ]] || kn_fail "stderr: $stderr"

	run --separate-stderr "$KENNEL" audit --file "$DIR/none/audit.log"
	kn_assert_status 0
	kn_assert_eq "" "$output" "output without a log"
	[[ $stderr == *"no audit log at $DIR/none/audit.log"* ]] || kn_fail "$stderr"
	run "$KENNEL" audit --bogus
	kn_assert_status 2
	run "$KENNEL" audit extra
	kn_assert_status 2
	run "$KENNEL" audit --session ''
	kn_assert_status 2
}

@test "kennel audit reads \$XDG_STATE_HOME/kennel/audit.log by default" {
	[[ $(id -u) -ne 0 ]] || skip "as root the default is /var/log/kennel/audit.log, not a test directory"
	"$DRIVER" emit "$LOG" --kind lifecycle --decision info --target default-path
	run env XDG_STATE_HOME="$DIR/state" "$KENNEL" audit
	kn_assert_status 0
	[[ $output == *" lifecycle info  default-path" ]] || kn_fail "$output"
}

# wait_lines FILE N SECONDS: until FILE has N lines
wait_lines() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		(($(wc -l <"$1") >= $2)) && return 0
		sleep 0.1
	done
	kn_fail "$1 has $(wc -l <"$1") lines, not $2, after $3 s"
}

@test "kennel audit --follow: from a log that does not exist yet, across many rotations, nothing missed or repeated" {
	local out=$DIR/follow.out
	"$KENNEL" audit --follow --json --file "$LOG" >"$out" 2>"$DIR/follow.err" &
	FOLLOWER=$!
	sleep 0.3
	"$DRIVER" emit "$LOG" --kind lifecycle --decision info --target first
	wait_lines "$out" 1 10
	# 3000 events in ~12 files of 64 kB, as fast as they come
	"$DRIVER" write "$LOG" 3000 --max-bytes 65536 --keep 99 >"$DIR/writer.out"
	wait_lines "$out" 3001 20
	sleep 0.5 # anything repeated would show up now
	kill "$FOLLOWER"
	wait "$FOLLOWER" 2>/dev/null || true
	FOLLOWER=""
	[[ -e $LOG.10 ]] || kn_fail "expected at least 10 rotations"
	run "$PY" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["target"] == "first", ev[0]
got = [int(e["target"]) for e in ev[1:]]
assert got == list(range(3000)), (len(got), [g for i, g in enumerate(got) if g != i][:5])
print(len(ev))' "$out"
	echo "$output"
	kn_assert_status 0
	kn_assert_eq "" "$(cat "$DIR/follow.err")" "follower's stderr"
}

@test "kennel audit --follow that fell more than all the kept files behind: says so, repeats nothing, goes on" {
	local out=$DIR/follow.out
	"$DRIVER" emit "$LOG" --kind lifecycle --decision info --target first
	"$KENNEL" audit --follow --json --file "$LOG" >"$out" 2>"$DIR/follow.err" &
	FOLLOWER=$!
	wait_lines "$out" 1 10
	kill -STOP "$FOLLOWER"
	# ~12 rotations while it sleeps, 3 files kept: its file is gone
	"$DRIVER" write "$LOG" 3000 --max-bytes 65536 --keep 3 >"$DIR/writer.out"
	[[ ! -e $LOG.4 ]] || kn_fail "more than 3 rotated files"
	kill -CONT "$FOLLOWER"
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q '"target":"2999"' "$out" && break
		sleep 0.1
	done
	sleep 0.5
	kill "$FOLLOWER"
	wait "$FOLLOWER" 2>/dev/null || true
	FOLLOWER=""
	run "$PY" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["target"] == "first", ev[0]
got = [int(e["target"]) for e in ev[1:]]
assert got == sorted(set(got)), "repeated or out of order"
assert got[-1] == 2999, got[-1]
print(len(got), "shown of 3000")' "$out"
	echo "$output"
	kn_assert_status 0
	grep -q "events may be missing" "$DIR/follow.err" || kn_fail "no warning: $(cat "$DIR/follow.err")"
}
