#!/usr/bin/env bats
# scripts/make-test-rootfs: the same inputs give the same tarball, and the
# tree it builds is what the sandbox tests rely on.

bats_require_minimum_version 1.5.0
load ../helpers/common

@test "make-test-rootfs is reproducible: two builds, one sha256" {
	local d probe
	d=$(kn_tmpdir)
	probe=$KENNEL_ROOTFS/usr/bin/kennel-probe
	[[ -x $probe ]] || kn_fail "the built test rootfs has no probe at $probe"
	run "$KENNEL_SRC/scripts/make-test-rootfs" --out "$d/a" --tar "$d/a.tar" --add "$probe:/usr/bin/kennel-probe" --add "$KENNEL_ROOTFS/usr/bin/kennel-netclient:/usr/bin/kennel-netclient"
	kn_assert_status 0
	# a different umask and directory must not change the result
	run bash -c 'umask 077 && exec "$@"' _ "$KENNEL_SRC/scripts/make-test-rootfs" \
		--out "$d/b" --tar "$d/b.tar" --add "$probe:/usr/bin/kennel-probe" --add "$KENNEL_ROOTFS/usr/bin/kennel-netclient:/usr/bin/kennel-netclient"
	kn_assert_status 0
	kn_assert_eq "$(cut -d' ' -f1 "$d/a.tar.sha256")" "$(cut -d' ' -f1 "$d/b.tar.sha256")" "sha256 of two builds"
	kn_assert_eq "$(sha256sum <"$d/a.tar" | cut -d' ' -f1)" "$(cut -d' ' -f1 "$d/a.tar.sha256")" "recorded sha256"
	# and the one the build made from the same inputs
	kn_assert_eq "$(cut -d' ' -f1 "$KENNEL_ROOTFS_TAR.sha256")" "$(cut -d' ' -f1 "$d/a.tar.sha256")" "sha256 of the build's tarball"
}

@test "make-test-rootfs: busybox applets, claude as uid 1000, the mount points" {
	local r=$KENNEL_ROOTFS
	[[ -x $r/bin/busybox && -L $r/bin/sh ]] || kn_fail "no busybox or /bin/sh link"
	grep -q '^claude:x:1000:1000:' "$r/etc/passwd" || kn_fail "no claude:1000 in /etc/passwd"
	for p in proc dev tmp run home/claude workspace; do
		[[ -d $r/$p ]] || kn_fail "missing /$p"
	done
	[[ $(stat -c %a "$r/tmp") == 1777 ]] || kn_fail "/tmp is not 1777"
	[[ -z $(find "$r" -perm /6000 -type f) ]] || kn_fail "setuid/setgid files in the test rootfs"
}
