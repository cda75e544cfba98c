#!/bin/sh
# Runs in the guest (test hostfs_confined), as root of the guest's kernel: it
# mounts hostfs every way it can and tries to read, list or write host files
# outside the declared directory (shared at /mnt/host); a sibling directory of
# it, "outside", holds a file "secret". Each success prints an "ESCAPED" line.
# The host side checks that nothing was written outside the declared directory.
shared=/mnt/host
grep -qx declared "$shared/file" || { echo "the declared directory is not shared"; exit 1; }
# A link the guest makes in the shared directory, pointing out of it on the host.
rm -f "$shared/link-out"
ln -s ../outside "$shared/link-out"
mkdir -p /probe
escaped=0
escape() {
	echo "ESCAPED: mount -t hostfs -o '$1': $2"
	escaped=1
}
for root in "" / /.. .. ../outside /../outside ../../.. /etc link-out /link-out; do
	mount -t hostfs none /probe -o "$root" 2>/dev/null || continue
	for secret in /probe/secret /probe/outside/secret; do
		grep -qx secret "$secret" 2>/dev/null && escape "$root" "reads $secret"
	done
	grep -q '^root:' /probe/etc/passwd 2>/dev/null && escape "$root" "reads the host's /etc/passwd"
	for entry in /probe/*; do # a directory listing, not a lookup
		[ "$entry" = /probe/outside ] && escape "$root" "lists the declared directory's parent"
	done
	# A write that lands in the declared directory itself is no escape.
	if echo pwned 2>/dev/null >/probe/written-by-guest && ! [ -e "$shared/written-by-guest" ]; then
		escape "$root" "writes /probe/written-by-guest outside the declared directory"
	fi
	rm -f "$shared/written-by-guest"
	umount /probe
done
# Through the shared mount itself: the link resolves in the guest, not on the host.
grep -qx secret "$shared/link-out/secret" 2>/dev/null && escape /mnt/host "reads link-out/secret"
rm -f "$shared/link-out"
[ "$escaped" = 0 ] && echo "CONFINED"
exit "$escaped"
