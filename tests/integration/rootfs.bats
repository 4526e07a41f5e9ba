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

@test "pull a local tarball with its sha256; sandbox --rootfs sha256:HEX runs on the cache" {
	run --separate-stderr kn_rootfs pull "$TAR" --sha256 "$SHA"
	kn_assert_status 0
	kn_assert_eq "sha256:$SHA" "$output"
	[[ -d $KENNEL_CACHE_DIR/sha256-$SHA/rootfs/bin ]] || kn_fail "no unpacked tree"
	[[ -f $KENNEL_CACHE_DIR/blobs/sha256-$SHA ]] || kn_fail "the archive was not kept"
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
	sed -i 's/claude/mallory/' "$t/etc/passwd"
	touch "$t/etc/added"
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 1
	[[ $output == *"etc/passwd"* ]] || kn_fail "changed file not named: $output"
	[[ $output == *"added or removed"* ]] || kn_fail "added file not noticed: $output"
	# and a corrupted archive
	rm -f "$t/etc/added"
	chmod u+w "$KENNEL_CACHE_DIR/blobs/sha256-$SHA"
	printf 'x' >>"$KENNEL_CACHE_DIR/blobs/sha256-$SHA"
	run --separate-stderr kn_rootfs verify "sha256:$SHA"
	kn_assert_status 1
	[[ $output == *"FAIL archive"* ]] || kn_fail "archive corruption not noticed: $output"
}

@test "kill -9 during unpack leaves no entry a launch would use; gc cleans up; a new pull works" {
	local src big pid i
	src=$KN_CACHE/big
	mkdir -p "$src"
	# enough entries that the unpack takes a while
	for i in $(seq 1 40); do mkdir -p "$src/d$i"; done
	python3 - "$src" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(1, 41):
    for f in range(500):
        with open(os.path.join(root, f"d{d}", f"f{f}"), "wb") as fh:
            fh.write(os.urandom(2048))
PY
	big=$KN_CACHE/big.tar
	tar -C "$src" -cf "$big" .
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

# make_oci_layout DIR: an OCI image layout with two layers (the second one
# gzipped) holding a whiteout and an opaque directory, tagged "latest".
make_oci_layout() {
	python3 - "$1" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root = sys.argv[1]
os.makedirs(os.path.join(root, "blobs", "sha256"))

def blob(data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}

def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                t.addfile(info)
            else:
                info.size = len(content)
                info.mode = 0o644
                t.addfile(info, io.BytesIO(content))
    return buf.getvalue()

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
