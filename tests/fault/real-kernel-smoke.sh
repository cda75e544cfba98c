#!/bin/sh
# Smoke test of uml-helper against a real UML kernel: busybox image made rootlessly,
# then pass, guest failure, timeout (nothing left behind) and hostfs.
# Usage: real-kernel-smoke.sh HELPER INIT WORK_DIR KERNEL_OR_PATTERN...
# (the first executable match is used; patterns are expanded here, at test time)
# Exits 125 (skipped) when no kernel, busybox or mke2fs is there, or UML cannot run.
set -u
helper=$1 init=$2 work=$3
shift 3

kernel=
for pattern in "$@"; do
	# shellcheck disable=SC2086 # unquoted: the pattern is meant to expand
	for candidate in $pattern; do
		if [ -z "$kernel" ] && [ -x "$candidate" ] && [ -f "$candidate" ]; then
			kernel=$candidate
		fi
	done
done
[ -n "$kernel" ] || { echo "no UML kernel built yet (checked: $*): skipped"; exit 125; }
busybox=$(command -v busybox) || { echo "no busybox: skipped"; exit 125; }
mke2fs=$(command -v mke2fs || echo /sbin/mke2fs)
[ -x "$mke2fs" ] || { echo "no mke2fs: skipped"; exit 125; }

fail=0
check() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then
		echo "ok   $1"
	else
		echo "FAIL $1: expected $2, got $3"
		fail=1
	fi
}

rm -rf "$work"
# The image uml_add_rootfs would make: the guest side in /.uml (init, busybox, applet
# links), mount points, and a busybox userland.
mkdir -p "$work/root/bin" "$work/root/.uml/bin" "$work/root/proc" "$work/root/sys" \
	"$work/root/dev" "$work/root/tmp" "$work/root/run" "$work/root/mnt" "$work/share"
cp "$busybox" "$work/root/bin/busybox"
cp "$busybox" "$work/root/.uml/busybox"
for applet in $("$busybox" --list-full); do
	[ -e "$work/root/$applet" ] || { mkdir -p "$work/root/${applet%/*}" && ln -s /bin/busybox "$work/root/$applet"; }
	ln -sf /.uml/busybox "$work/root/.uml/bin/${applet##*/}"
done
cp "$init" "$work/root/.uml/init"
chmod +x "$work/root/.uml/init"
"$mke2fs" -q -t ext4 -d "$work/root" "$work/root.img" 64M || exit 1
echo "from the host" >"$work/share/note"
echo "kernel: $kernel"

run() { # NAME ARGS...: the helper's exit status in $status, its output in $work/NAME.out
	name=$1
	shift
	"$helper" test --kernel "$kernel" --rootfs "$work/root.img" --work-dir "$work/$name" \
		--name "$name" "$@" >"$work/$name.out" 2>&1
	status=$?
	if [ "$status" = 125 ]; then
		cat "$work/$name.out"
		echo "UML cannot run on this host: skipped"
		exit 125
	fi
}

run pass -- grep -q ubda /proc/partitions
check "pass (exit 0)" 0 "$status"
run false -- false
check "guest failure (exit 1)" 1 "$status"
grep -q "failed with status 1" "$work/false.out" || { echo "FAIL no guest status"; fail=1; }
run timeout --timeout 3 --grace 2 -- sleep 1000
check "timeout (exit 124)" 124 "$status"
left=$(pgrep -c -f -- "$work/timeout/")
check "no process left after the timeout" 0 "$left"
check "no COW file left" "" "$(find "$work/timeout" -name '*.cow')"
check "no umid directory left" "" "$(find "$work/timeout" -name pid)"
run hostfs --hostfs "$work/share" -- grep -q "from the host" /mnt/host/note
check "hostfs (exit 0)" 0 "$status"
# shellcheck disable=SC2016 # $GREETING is for the guest's shell
run env --env 'GREETING=hello world' -- sh -c 'test "$GREETING" = "hello world"'
check "environment (exit 0)" 0 "$status"

[ "$fail" = 0 ] || for f in "$work"/*.out; do echo "== $f"; tail -20 "$f"; done
exit "$fail"
