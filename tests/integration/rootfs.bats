#!/usr/bin/env bats
# shellcheck disable=SC2016
# `kennel rootfs pull|ls|verify|rm|gc` and `kennel sandbox --rootfs NAME|sha256:HEX`,
# each test in its own cache (KENNEL_CACHE_DIR) and lock file.

bats_require_minimum_version 1.5.0
load ../helpers/common

setup() {
	kn_require_kennel
	KN_CACHE=$(kn_tmpdir)
	export KENNEL_CACHE_DIR=$KN_CACHE/cache
	KN_LOCK=$KN_CACHE/kennel.lock
	TAR=$KENNEL_ROOTFS_TAR
	SHA=$(cut -d' ' -f1 "$TAR.sha256")
}

kn_rootfs() {
	timeout -k 5 120 "$KENNEL" rootfs "$@"
}

# kn_own_tar: a copy of the test tarball owned by the user running the test
# (so that a pull may lease it), printed.
kn_own_tar() {
	cp "$TAR" "$KN_CACHE/own.tar"
	echo "$KN_CACHE/own.tar"
}

# kn_archive_state HEX: "kept" or "not-kept" as info.json says, after checking
# that the cache's blobs/ and `rootfs ls --json` agree with it.
kn_archive_state() {
	python3 - "$KENNEL_CACHE_DIR" "$1" "$("$KENNEL" rootfs ls --json)" <<'PY'
import json, os, sys
cache, hexd, ls = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
info = json.load(open(os.path.join(cache, "sha256-" + hexd, "info.json")))
blob = os.path.join(cache, "blobs", "sha256-" + hexd)
kept = info["archive_kept"]
assert os.path.exists(blob) == kept, "info.json says archive_kept=%s, blob exists: %s" % (kept, os.path.exists(blob))
(e,) = [e for e in ls if e["digest"] == "sha256:" + hexd]
assert e["archive_kept"] == kept, e
assert e["archive"] == (blob if kept else None), e
print("kept" if kept else "not-kept")
PY
}

@test "pull a local tarball with its sha256; sandbox --rootfs sha256:HEX runs on the cache" {
	run --separate-stderr kn_rootfs pull "$TAR" --sha256 "$SHA"
	kn_assert_status 0
	kn_assert_eq "sha256:$SHA" "$output"
	[[ -d $KENNEL_CACHE_DIR/sha256-$SHA/rootfs/bin ]] || kn_fail "no unpacked tree"
	# read in place or copied (a staged copy may not be ours to lease): either way consistent
	run kn_archive_state "$SHA"
	kn_assert_status 0
	[[ -z $(ls -A "$KENNEL_CACHE_DIR/tmp") ]] || kn_fail "leftovers in tmp: $(ls "$KENNEL_CACHE_DIR/tmp")"
	run --separate-stderr kn_sandbox_rootfs "sha256:$SHA" -- sh -c 'id -u; cat /etc/os-release | head -1'
	kn_assert_status 0
	[[ $output == 1000* ]] || kn_fail "unexpected: $output"
}

# kn_sandbox_rootfs ROOTFS ARGS...: kennel sandbox on a cache entry (no default --rootfs)
kn_sandbox_rootfs() {
	local r=$1
	shift
	# shellcheck disable=SC2086
	timeout -k 5 "$KN_TIMEOUT" "$KENNEL" sandbox --lock "$KN_LOCK" --rootfs "$r" $KN_HOST_ARGS "$@"
}

@test "a sha256 mismatch is refused before anything is unpacked" {
	local wrong=0000000000000000000000000000000000000000000000000000000000000000
	run --separate-stderr kn_rootfs pull "$TAR" --sha256 "$wrong"
	kn_assert_status 1
	[[ $stderr == *mismatch* && $stderr == *"nothing was unpacked"* ]] || kn_fail "message: $stderr"
	[[ $stderr == *"$SHA"* ]] || kn_fail "the message does not give the real digest: $stderr"
	[[ -z $(find "$KENNEL_CACHE_DIR" -name 'sha256-*' -o -name rootfs) ]] || kn_fail "something was unpacked"
	[[ -z $(ls -A "$KENNEL_CACHE_DIR/tmp") ]] || kn_fail "leftovers in tmp"
}

@test "trust on first use is said plainly; --name pins it in the lock file; --rootfs NAME uses it" {
	run --separate-stderr kn_rootfs pull "$TAR" --name testfs --lock "$KN_LOCK"
	kn_assert_status 0
	[[ $stderr == *"trusting"*"on first use"*"$SHA"* ]] || kn_fail "no TOFU notice: $stderr"
	python3 - "$KN_LOCK" "$SHA" <<'PY' || kn_fail "lock file: $(cat "$KN_LOCK")"
import json, sys
lock = json.load(open(sys.argv[1]))
assert lock["version"] == 1
assert lock["rootfs"]["testfs"]["sha256"] == sys.argv[2]
assert lock["rootfs"]["testfs"]["source"].endswith(".tar")
PY
	run --separate-stderr kn_sandbox_rootfs testfs -- /bin/true
	kn_assert_status 0
	run --separate-stderr kn_sandbox_rootfs unknownfs -- /bin/true
	kn_assert_status 125
	[[ $stderr == *"not pinned"* && $stderr == *"kennel rootfs pull"* ]] || kn_fail "message: $stderr"
	# a pinned name pulls from its pin
	run --separate-stderr kn_rootfs rm testfs
	kn_assert_status 1   # rm looks names up in the default lock file only: not found there
	run --separate-stderr kn_rootfs rm "sha256:$SHA"
	kn_assert_status 0
	run --separate-stderr kn_rootfs pull testfs --lock "$KN_LOCK"
	kn_assert_status 0
	kn_assert_eq "sha256:$SHA" "$output"
}

@test "a second pull does no work; two concurrent pulls both succeed and unpack once" {
	run --separate-stderr kn_rootfs pull "$TAR" --sha256 "$SHA"
	kn_assert_status 0
	run --separate-stderr kn_rootfs pull "$TAR" --sha256 "$SHA"
	kn_assert_status 0
	[[ $stderr == *"already in the cache"* ]] || kn_fail "second pull: $stderr"
	run kn_rootfs rm "sha256:$SHA"
	kn_assert_status 0
	local a=$KN_CACHE/a.log b=$KN_CACHE/b.log pa pb
	kn_rootfs pull "$TAR" --sha256 "$SHA" >"$a" 2>&1 &
	pa=$!
	kn_rootfs pull "$TAR" --sha256 "$SHA" >"$b" 2>&1 &
	pb=$!
	wait "$pa" || kn_fail "pull A failed: $(cat "$a")"
	wait "$pb" || kn_fail "pull B failed: $(cat "$b")"
	kn_assert_eq 1 "$(cat "$a" "$b" | grep -c 'unpacked:')" "unpacks"
	kn_assert_eq 1 "$(cat "$a" "$b" | grep -c 'already in the cache')" "pulls that found it done"
}

@test "verify: ok on a fresh entry; detects changed content, changed modes and added files" {
	run --separate-stderr kn_rootfs pull "$TAR" --sha256 "$SHA"
	kn_assert_status 0
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 0
	[[ $output == *ok* ]] || kn_fail "$output"
	local t=$KENNEL_CACHE_DIR/sha256-$SHA/rootfs
	chmod u+w "$t/etc/passwd" "$t/etc"
	sed -i 's/claude/mallor/' "$t/etc/passwd" # same size: the hash finds it
	touch "$t/etc/added"
	chmod 0700 "$t/usr"
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 1
	[[ $output == *"etc/passwd: content changed"* ]] || kn_fail "changed file not named: $output"
	[[ $output == *"usr: mode 700, recorded 755"* ]] || kn_fail "changed mode not named: $output"
	[[ $output == *"added or removed"* ]] || kn_fail "added file not noticed: $output"
}

@test "a local tarball is read in place, not copied; verify re-hashes it where it is, or says it is gone; gc" {
	local own
	own=$(kn_own_tar)
	run --separate-stderr kn_rootfs pull "$own" --sha256 "$SHA"
	kn_assert_status 0
	if [[ $stderr == *"not read in place"* ]]; then
		kn_skip_optional "no read lease on $own here (${stderr##*not read in place (}): it was copied"
	fi
	run kn_archive_state "$SHA"
	kn_assert_status 0
	kn_assert_eq not-kept "$output" "the archive of a local file"
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 0
	[[ $output == *"archive: not kept; $own re-hashed: OK"* ]] || kn_fail "$output"
	# the source changed after the pull: said, and verify fails; the tree itself is intact
	printf 'x' >>"$own"
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 1
	[[ $output == *"FAIL archive: not kept; $own re-hashed: its sha256 is now"* ]] || kn_fail "$output"
	[[ $output == *"the tree is intact"* ]] || kn_fail "$output"
	rm -f "$own"
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 0
	[[ $output == *"archive: not kept and $own is gone: tree checked against its manifest only"* ]] || kn_fail "$output"
	[[ $output == *"sha256:$SHA: ok"* ]] || kn_fail "$output"
	# a tree check still catches corruption without the archive
	local t=$KENNEL_CACHE_DIR/sha256-$SHA/rootfs
	chmod u+w "$t/etc/passwd"
	printf 'x' >>"$t/etc/passwd"
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 1
	[[ $output == *"etc/passwd"* ]] || kn_fail "$output"
	# gc: an entry without an archive goes as cleanly as one with
	run --separate-stderr kn_rootfs gc --lock "$KN_LOCK"
	kn_assert_status 0
	[[ $output == *"removed sha256:$SHA"* ]] || kn_fail "gc: $output"
	[[ ! -e $KENNEL_CACHE_DIR/sha256-$SHA && -z $(ls -A "$KENNEL_CACHE_DIR/blobs") ]] || kn_fail "gc left something"
}

@test "a tarball someone has open for writing is copied into the cache instead; verify re-hashes the copy" {
	local own
	own=$(kn_own_tar)
	# (not fd 3: bats writes its report there)
	exec 8>>"$own"
	run --separate-stderr kn_rootfs pull "$own" --sha256 "$SHA"
	exec 8>&-
	kn_assert_status 0
	kn_assert_eq "sha256:$SHA" "$output"
	[[ $stderr == *"not read in place"*"copying it into the cache"* ]] || kn_fail "no notice: $stderr"
	run kn_archive_state "$SHA"
	kn_assert_status 0
	kn_assert_eq kept "$output" "the archive of a file open for writing"
	rm -f "$own"
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 0
	[[ $output == *"archive: kept in the cache, re-hashed: OK"* ]] || kn_fail "$output"
	# a corrupted copy is found
	chmod u+w "$KENNEL_CACHE_DIR/blobs/sha256-$SHA"
	printf 'x' >>"$KENNEL_CACHE_DIR/blobs/sha256-$SHA"
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 1
	[[ $output == *"FAIL archive"* ]] || kn_fail "archive corruption not noticed: $output"
	# an archive whose entry is gone (a killed rm) is an orphan gc removes
	mv "$KENNEL_CACHE_DIR/blobs/sha256-$SHA" "$KN_CACHE/blob"
	run kn_rootfs rm "sha256:$SHA"
	kn_assert_status 0
	mv "$KN_CACHE/blob" "$KENNEL_CACHE_DIR/blobs/sha256-$SHA"
	run --separate-stderr kn_rootfs gc --lock "$KN_LOCK"
	kn_assert_status 0
	[[ $output == *"removed orphan archive"*"sha256-$SHA"* ]] || kn_fail "gc: $output"
	[[ -z $(ls -A "$KENNEL_CACHE_DIR/blobs") ]] || kn_fail "the orphan archive is still there"
}

# make_big_tar DIR: a tarball of 40 x 500 files of 2 KiB (long enough to
# unpack that a test can act while it runs), its path printed.
make_big_tar() {
	local src=$1/big i
	mkdir -p "$src"
	for i in $(seq 1 40); do mkdir -p "$src/d$i"; done
	python3 - "$src" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(1, 41):
    for f in range(500):
        with open(os.path.join(root, f"d{d}", f"f{f}"), "wb") as fh:
            fh.write(os.urandom(2048))
PY
	tar -C "$src" -cf "$1/big.tar" .
	rm -rf "$src"
	echo "$1/big.tar"
}

@test "opening the tarball for writing during a pull fails the pull: nothing is kept" {
	local big sha pid log=$KN_CACHE/pull.log i
	big=$(make_big_tar "$KN_CACHE")
	sha=$(sha256sum "$big" | cut -d' ' -f1)
	"$KENNEL" rootfs pull "$big" --sha256 "$sha" >"$log" 2>&1 &
	pid=$!
	for i in $(seq 1 400); do
		if compgen -G "$KENNEL_CACHE_DIR/tmp/pull-*/entry/rootfs/d*" >/dev/null; then break; fi
		sleep 0.02
	done
	# the open waits for the pull to let go of its lease (or for lease-break-time)
	timeout 60 bash -c ': >>"$1"' _ "$big"
	local st=0
	wait "$pid" || st=$?
	if grep -q "not read in place" "$log"; then
		kn_skip_optional "no read lease on $big here: $(cat "$log")"
	fi
	if ((st == 0)); then
		kn_skip_optional "n/a: the pull finished before the file was opened for writing"
	fi
	kn_assert_eq 1 "$st" "the pull's exit status"
	grep -q "changed during the pull" "$log" || kn_fail "message: $(cat "$log")"
	[[ ! -e $KENNEL_CACHE_DIR/sha256-$sha && -z $(ls -A "$KENNEL_CACHE_DIR/blobs") ]] || kn_fail "something was kept"
	[[ -z $(ls -A "$KENNEL_CACHE_DIR/tmp") ]] || kn_fail "leftovers in tmp"
}

@test "verify reads the first manifest format (sha256) and refuses an unknown one with a re-pull hint" {
	run --separate-stderr kn_rootfs pull "$TAR" --sha256 "$SHA"
	kn_assert_status 0
	local e=$KENNEL_CACHE_DIR/sha256-$SHA
	head -1 "$e/manifest" | grep -qx '#kennel-manifest 2 xxh3-128' || kn_fail "header: $(head -1 "$e/manifest")"
	chmod u+w "$e" "$e/manifest"
	# format 1, as kennel wrote it before the header: no header, sha256 per file
	python3 - "$e" <<'PY'
import hashlib, os, sys
e = sys.argv[1]
lines = open(os.path.join(e, "manifest")).read().split("\n")
out = []
for line in lines[1:]:
    if not line:
        continue
    f = line.split("\t")
    if f[0] == "f":
        path = f[4].replace("\\t", "\t").replace("\\n", "\n").replace("\\\\", "\\")
        f[3] = hashlib.sha256(open(os.path.join(e, "rootfs", path), "rb").read()).hexdigest()
    out.append("\t".join(f))
open(os.path.join(e, "manifest"), "w").write("\n".join(out) + "\n")
PY
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 0
	[[ $output == *"sha256:$SHA: ok"* ]] || kn_fail "format 1: $output"
	chmod u+w "$e/rootfs/etc/passwd"
	printf 'x' >>"$e/rootfs/etc/passwd"
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 1
	[[ $output == *"etc/passwd"* ]] || kn_fail "format 1, changed file: $output"
	sed -i '1i #kennel-manifest 3 blake3' "$e/manifest"
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 1
	[[ $output == *"not one this kennel knows: re-pull"* ]] || kn_fail "unknown format: $output"
}

@test "kill -9 during unpack leaves no entry a launch would use; gc cleans up; a new pull works" {
	local big pid i
	big=$(make_big_tar "$KN_CACHE")
	local sha
	sha=$(sha256sum "$big" | cut -d' ' -f1)
	# no timeout wrapper: $! must be the pull itself (kennel execs kennel-rootfs in place)
	"$KENNEL" rootfs pull "$big" --sha256 "$sha" --quiet >/dev/null 2>&1 &
	pid=$!
	# wait until the unpack has started (files appear in the work dir), then kill
	for i in $(seq 1 200); do
		if compgen -G "$KENNEL_CACHE_DIR/tmp/pull-*/entry/rootfs/d*" >/dev/null; then break; fi
		sleep 0.02
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[[ ! -e $KENNEL_CACHE_DIR/sha256-$sha ]] || kn_skip_optional "n/a: the pull finished before it could be killed"
	run --separate-stderr kn_sandbox_rootfs "sha256:$sha" -- /bin/true
	kn_assert_status 125
	[[ $stderr == *"not in the cache"* ]] || kn_fail "$stderr"
	run --separate-stderr kn_rootfs gc --lock "$KN_LOCK"
	kn_assert_status 0
	[[ $output == *"stale"* ]] || kn_fail "gc did not remove the killed pull: $output"
	[[ -z $(ls -A "$KENNEL_CACHE_DIR/tmp") ]] || kn_fail "tmp not empty after gc"
	run --separate-stderr kn_rootfs pull "$big" --sha256 "$sha" --quiet
	kn_assert_status 0
	[[ -d $KENNEL_CACHE_DIR/sha256-$sha/rootfs/d40 ]] || kn_fail "the new pull did not unpack"
}

@test "rm refuses an entry a running sandbox uses, then removes it; ls shows names" {
	run --separate-stderr kn_rootfs pull "$TAR" --sha256 "$SHA" --name t1 --lock "$KN_LOCK"
	kn_assert_status 0
	# ls finds names in ./kennel.lock: run it where the lock file is
	run --separate-stderr bash -c 'cd "$1" && "$2" rootfs ls --json' _ "$KN_CACHE" "$KENNEL"
	kn_assert_status 0
	python3 -c 'import json,sys; l=json.loads(sys.argv[1]); assert l[0]["names"]=="t1" and l[0]["digest"].startswith("sha256:"), l' "$output" ||
		kn_fail "ls --json: $output"
	local log=$KN_CACHE/sb.log pid
	# shellcheck disable=SC2086
	"$KENNEL" sandbox --rootfs "sha256:$SHA" $KN_HOST_ARGS -- sleep 5 >"$log" 2>&1 &
	pid=$!
	sleep 0.5
	run --separate-stderr kn_rootfs rm "sha256:$SHA"
	kn_assert_status 1
	[[ $stderr == *"in use"* ]] || kn_fail "rm while running: $stderr"
	kill -TERM "$pid"
	wait "$pid" || true
	run --separate-stderr kn_rootfs rm "sha256:$SHA"
	kn_assert_status 0
	[[ ! -e $KENNEL_CACHE_DIR/sha256-$SHA ]] || kn_fail "entry still there"
}

@test "pull over http from a server on loopback; an HTTP error is reported" {
	local port pid
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	python3 -m http.server --bind 127.0.0.1 --directory "$(dirname "$TAR")" "$port" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 1 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
		sleep 0.1
	done
	run --separate-stderr kn_rootfs pull "http://127.0.0.1:$port/$(basename "$TAR")" --sha256 "$SHA"
	local st=$status out=$output err=$stderr
	run --separate-stderr kn_rootfs pull "http://127.0.0.1:$port/no-such.tar"
	local st404=$status err404=$stderr
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	status=$st output=$out stderr=$err
	kn_assert_status 0
	kn_assert_eq "sha256:$SHA" "$out"
	[[ $st404 -eq 1 && $err404 == *"HTTP 404"* ]] || kn_fail "404: status $st404, $err404"
	[[ -z $(ls -A "$KENNEL_CACHE_DIR/tmp") ]] || kn_fail "leftovers after the failed download"
}

@test "a directory is not an archive: pull says to use --rootfs DIR" {
	run --separate-stderr kn_rootfs pull "$KENNEL_ROOTFS"
	kn_assert_status 1
	[[ $stderr == *"is a directory"*"--rootfs"* ]] || kn_fail "$stderr"
}

# make_oci_layout DIR [SCENARIO]: an OCI image layout with two layers (the
# second one gzipped), tagged "latest"; its manifest's sha256 printed.
#   whiteouts (default): a whiteout and an opaque directory;
#   readonly: the first layer leaves read-only directories (0555, as
#     /usr/share/... often are) that the second one adds files to and
#     removes a file from, and a setgid directory.
make_oci_layout() {
	python3 - "$1" "${2:-whiteouts}" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root, scenario = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(root, "blobs", "sha256"))

def blob(data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}

def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, content, *mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = mode[0] if mode else 0o755
                t.addfile(info)
            else:
                info.size = len(content)
                info.mode = mode[0] if mode else 0o644
                t.addfile(info, io.BytesIO(content))
    return buf.getvalue()

if scenario == "readonly":
    l1 = layer([("usr", None), ("usr/share", None), ("usr/share/ro", None, 0o555),
                ("usr/share/ro/a", b"a\n", 0o444), ("usr/share/ro/gone", b"gone\n", 0o444),
                ("usr/share/ro/sub", None, 0o555), ("usr/share/ro/sub/deep", b"deep\n", 0o444),
                ("usr/share/sg", None, 0o2775)])
    # no entry for the read-only directories themselves: they stay as the first layer made them
    l2 = layer([("usr/share/ro/b", b"b\n"), ("usr/share/ro/.wh.gone", b""),
                ("usr/share/ro/sub/deeper", b"deeper\n", 0o444), ("usr/share/sg/f", b"f\n")])
else:
    l1 = layer([("a", None), ("a/keep", b"keep\n"), ("a/gone", b"gone\n"), ("b", None),
                ("b/old1", b"1\n"), ("b/old2", b"2\n"), ("etc", None), ("etc/conf", b"v1\n")])
    l2 = layer([("a/.wh.gone", b""), ("b", None), ("b/.wh..wh..opq", b""), ("b/new", b"new\n"),
                ("etc/conf", b"v2\n")])
d1 = dict(blob(l1), mediaType="application/vnd.oci.image.layer.v1.tar")
d2 = dict(blob(gzip.compress(l2, mtime=0)), mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
config = dict(blob(json.dumps({"architecture": "amd64", "os": "linux",
                               "rootfs": {"type": "layers", "diff_ids": []}}).encode()),
              mediaType="application/vnd.oci.image.config.v1+json")
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": config, "layers": [d1, d2]}).encode()
m = dict(blob(manifest), mediaType="application/vnd.oci.image.manifest.v1+json",
         annotations={"org.opencontainers.image.ref.name": "latest"})
with open(os.path.join(root, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [m]}, f)
with open(os.path.join(root, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
print(m["digest"][7:])
PY
}

@test "OCI layout: layers applied in order, whiteout and opaque dir honoured, digests verified" {
	local layout=$KN_CACHE/layout mhex t
	mhex=$(make_oci_layout "$layout")
	run --separate-stderr kn_rootfs pull "oci:$layout:latest" --sha256 "$mhex"
	kn_assert_status 0
	kn_assert_eq "sha256:$mhex" "$output"
	t=$KENNEL_CACHE_DIR/sha256-$mhex/rootfs
	kn_assert_eq keep "$(cat "$t/a/keep")" "a/keep"
	[[ ! -e $t/a/gone ]] || kn_fail "the whiteout did not remove a/gone"
	kn_assert_eq "new" "$(ls "$t/b")" "the opaque dir b"
	kn_assert_eq v2 "$(cat "$t/etc/conf")" "the upper layer's etc/conf"
	[[ -z $(find "$t" -name '.wh.*') ]] || kn_fail "whiteout files were unpacked"
	run --separate-stderr kn_rootfs verify "sha256:$mhex"
	kn_assert_status 0
	# the size limit holds for all layers together (17 + 7 bytes; each layer alone is under 20)
	run kn_rootfs rm "sha256:$mhex"
	run --separate-stderr kn_rootfs pull "oci:$layout:latest" --max-unpacked-size 20
	kn_assert_status 1
	[[ $stderr == *"exceed"* || $stderr == *"limit"* ]] || kn_fail "layers over the limit together: $stderr"
	[[ ! -e $KENNEL_CACHE_DIR/sha256-$mhex ]] || kn_fail "unpacked beyond the limit"
	# a tampered layer is refused, nothing unpacked
	local l2
	l2=$(ls -S "$layout/blobs/sha256" | head -1)
	chmod u+w "$layout/blobs/sha256/$l2"
	printf 'x' >>"$layout/blobs/sha256/$l2"
	run --separate-stderr kn_rootfs pull "oci:$layout:latest"
	kn_assert_status 1
	[[ $stderr == *"hashes to"* ]] || kn_fail "tampered blob: $stderr"
	[[ ! -e $KENNEL_CACHE_DIR/sha256-$mhex ]] || kn_fail "unpacked despite a bad blob"
	run --separate-stderr kn_rootfs pull "oci:$layout:nosuchtag"
	kn_assert_status 1
	[[ $stderr == *"no image tagged"* ]] || kn_fail "$stderr"
}

@test "OCI layout: a later layer adds to and removes from a directory a lower layer made read-only (rootless too)" {
	local layout=$KN_CACHE/layout-ro mhex t
	mhex=$(make_oci_layout "$layout" readonly)
	run --separate-stderr kn_rootfs pull "oci:$layout:latest" --sha256 "$mhex"
	kn_assert_status 0
	kn_assert_eq "sha256:$mhex" "$output"
	t=$KENNEL_CACHE_DIR/sha256-$mhex/rootfs
	kn_assert_eq b "$(cat "$t/usr/share/ro/b")" "the file the second layer added"
	kn_assert_eq deeper "$(cat "$t/usr/share/ro/sub/deeper")" "the file the second layer added deeper"
	kn_assert_eq a "$(cat "$t/usr/share/ro/a")" "the first layer's file"
	[[ ! -e $t/usr/share/ro/gone ]] || kn_fail "the whiteout in a read-only directory did not remove 'gone'"
	# the final modes, applied once after the last layer, with setgid stripped
	kn_assert_eq 555 "$(stat -c %a "$t/usr/share/ro")" "usr/share/ro"
	kn_assert_eq 555 "$(stat -c %a "$t/usr/share/ro/sub")" "usr/share/ro/sub"
	kn_assert_eq 775 "$(stat -c %a "$t/usr/share/sg")" "usr/share/sg (setgid stripped)"
	kn_assert_eq 444 "$(stat -c %a "$t/usr/share/ro/a")" "usr/share/ro/a"
	kn_assert_eq 1700000000 "$(stat -c %Y "$t/usr/share/ro")" "the mtime of usr/share/ro"
	run --separate-stderr kn_rootfs verify "sha256:$mhex"
	kn_assert_status 0
	grep -q "^d	555	0	-	usr/share/ro$" "$KENNEL_CACHE_DIR/sha256-$mhex/manifest" || kn_fail "manifest: $(grep usr/share/ro "$KENNEL_CACHE_DIR/sha256-$mhex/manifest")"
}
