#!/bin/bash
# End to end: kernel builds across machines, with the engines a team already runs.
# Four "machines" are four directories on this host, each with its own ccache and
# UML cache (so its own kernel build tree), sharing a redis server (ccache's remote
# storage) and a distcc server, both started here on 127.0.0.1 and stopped at the end:
#   A: empty local cache; remote storage: a dead server, then the live one. The dead
#      one is a warning, the build succeeds, every compile is written to redis.
#   B: empty local cache, same kernel: every kernel compile comes from the cache (all
#      but Kbuild's repeats from the remote one), none from the compiler; B's time
#      against A's.
#   C: distcc behind ccache (prefix_command), on a copy of B's cache that lost a
#      sixteenth of its objects: Kbuild's -j is distcc's slot count, and each miss is
#      compiled by distccd.
#   D: B's tree with another empty local cache and the remote down: a module edit
#      builds, with the warning.
# The kernel is small (allnoconfig with 64BIT and MODULES): what is shared is the
# mechanism, not the size.
# Usage: scale_out.sh PACKAGE_DIR PROJECT_DIR WORK_DIR CACHE_DIR KERNEL_ARCHIVE
set -euo pipefail
package_dir=$1 project_dir=$2 work=$3 cache_dir=$4 archive=$5
unset MAKEFLAGS # under make test, its -jN would win over distcc's slots
# distcc's slots: one more than the cores, so that Kbuild's -j follows them.
slots=$(($(nproc) + 1))

servers=()
cleanup() {
	local pgid
	for pgid in "${servers[@]}"; do
		kill -TERM -- "-$pgid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT
fail() {
	echo "FAILED: $*" >&2
	exit 1
}
ok() { echo "-- ok: $*"; }

rm -rf "$work"
mkdir -p "$work"
cp -r "$project_dir" "$work/project"
project_dir="$work/project"

# A port nothing listens on (bash's /dev/tcp connect fails).
free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
}
# Waits until 127.0.0.1:<port> accepts connections.
wait_listening() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# Starts "$@" in its own process group (cleanup kills the group: distccd's pre-forked
# children too), bounded by timeout in case this script is killed without its trap.
start_server() {
	local log=$1
	shift
	setsid timeout --kill-after=5 2400 "$@" >"$log" 2>&1 &
	servers+=("$!")
}

# Runs "$@" in a process group of its own that cleanup kills if this script is stopped
# (ctest's timeout): Kbuild's make and compilers go with it.
run_group() {
	local rc=0
	setsid -w "$@" &
	servers+=("$!")
	wait "$!" || rc=$?
	unset 'servers[-1]'
	return "$rc"
}

redis_port=$(free_port)
start_server "$work/redis.log" redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
	--protected-mode yes
wait_listening "$redis_port" || fail "redis-server did not listen on 127.0.0.1:$redis_port: $(cat "$work/redis.log")"
distcc_port=$(free_port)
start_server "$work/distccd.log" distccd --daemon --no-detach --listen 127.0.0.1 --allow 127.0.0.1 \
	--port "$distcc_port" --jobs "$slots" --log-stderr --log-level info
wait_listening "$distcc_port" || fail "distccd did not listen on 127.0.0.1:$distcc_port: $(cat "$work/distccd.log")"
dead_port=$(free_port)
echo "redis on 127.0.0.1:$redis_port, distccd on 127.0.0.1:$distcc_port ($slots slots), nothing on $dead_port"

# The kernel source: the suite's unpacked one when there, else unpacked here. Both
# machines use it in place (SOURCE_DIR is never written to).
source_dir=""
for makefile in "$cache_dir"/src/linux-source-6.12-*/Makefile; do
	[ -f "$makefile" ] && source_dir=$(dirname "$makefile") && break
done
if [ -z "$source_dir" ]; then
	mkdir -p "$work/src"
	tar -xf "$archive" -C "$work/src"
	source_dir=$(dirname "$(ls -d "$work"/src/*/Makefile | head -1)")
fi
config="$work/tiny.config"
mkdir -p "$work/tiny-config"
printf 'CONFIG_64BIT=y\nCONFIG_MODULES=y\nCONFIG_MODULE_UNLOAD=y\n' >"$work/tiny.fragment"
KCONFIG_ALLCONFIG="$work/tiny.fragment" make -s -C "$source_dir" O="$work/tiny-config" ARCH=um allnoconfig \
	>"$work/tiny-config.log" 2>&1 || fail "allnoconfig: $(cat "$work/tiny-config.log")"
cp "$work/tiny-config/.config" "$config"

# Builds the kernel and the module on machine <name> (the rest of the environment is
# the caller's); its output in $work/<name>.log, the seconds it took in $seconds.
seconds=0
build() {
	local name=$1 start end
	shift
	cmake -S "$project_dir" -B "$work/$name/build" -G Ninja "-DUML_TEST_PACKAGE_DIR=$package_dir" \
		"-DUML_CACHE_DIR=$work/$name/uml" -DUML_KERNEL_COMPILER_LAUNCHER=ccache \
		"-DSCALEOUT_KERNEL_SOURCE=$source_dir" "-DSCALEOUT_KERNEL_CONFIG=$config" "$@" \
		>"$work/$name.log" 2>&1 || {
		cat "$work/$name.log"
		fail "machine $name: configure failed"
	}
	start=$(date +%s.%N)
	run_group cmake --build "$work/$name/build" --target uml_kernel greeting >>"$work/$name.log" 2>&1 || {
		cat "$work/$name.log"
		fail "machine $name: build failed"
	}
	end=$(date +%s.%N)
	seconds=$(awk "BEGIN { printf \"%.1f\", $end - $start }")
	grep -E "UML kernel|UML module|ccache|distcc|CMake Warning|remote storage" "$work/$name.log" | cut -c1-300 || true
}
# One ccache counter of a cache directory.
stat_of() {
	CCACHE_DIR=$1 ccache --print-stats | awk -v key="$2" '$1 == key { print $2 }'
}

# The kernel step's own account of a build: "<served> <compiles> <local> <remote>
# <written> <compiled>" from its "ccache served ..." line in <log>.
kernel_account() {
	local line pattern
	line=$(grep -o "UML kernel: ccache served .* compiled" "$1" | tail -n 1)
	pattern='served ([0-9]+) of ([0-9]+) compiles \(([0-9]+) local(, ([0-9]+) remote; ([0-9]+) written[^)]*)?\), ([0-9]+) compiled'
	[[ $line =~ $pattern ]] || return 0
	echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[5]:-0} ${BASH_REMATCH[6]:-0}" \
		"${BASH_REMATCH[7]}"
}

echo "== machine A: empty local cache; remote storage: a dead server, then the live one"
CCACHE_DIR="$work/A/ccache" \
	CCACHE_REMOTE_STORAGE="redis://127.0.0.1:$dead_port|connect-timeout=200 redis://127.0.0.1:$redis_port" \
	build A
a_seconds=$seconds
account=$(kernel_account "$work/A.log")
[ -n "$account" ] || fail "A's build did not say how ccache served it"
read -r _ a_compiles _ _ a_written a_compiled <<<"$account"
a_errors=$(stat_of "$work/A/ccache" remote_storage_error)
echo "machine A: ${a_seconds} s, $a_compiled of $a_compiles kernel compiles compiled, $a_written remote writes," \
	"$a_errors remote errors"
[ -x "$(echo "$work"/A/uml/kernel/*/linux)" ] || fail "machine A built no kernel"
[ "$a_compiled" -gt 300 ] || fail "A compiled only $a_compiled files (an empty local cache must compile the kernel)"
# Two entries per compile (ccache's manifest and result).
[ "$a_written" -ge $((2 * a_compiled - 10)) ] || fail "A wrote $a_written entries to redis for $a_compiled compiles"
ok "A: every compile written to the remote storage"
[ "$a_errors" -gt 0 ] && grep -q "remote storage failed" "$work/A.log" ||
	fail "the dead remote storage gave no warning"
grep -q "redis://127.0.0.1:$dead_port" "$work/A.log" || fail "the warning does not name the remote storage"
ok "A: the dead remote storage is a warning, the build succeeded"

echo "== machine B: another empty local cache, the remote storage"
CCACHE_DIR="$work/B/ccache" CCACHE_REMOTE_STORAGE="redis://127.0.0.1:$redis_port" build B
b_seconds=$seconds
account=$(kernel_account "$work/B.log")
[ -n "$account" ] || fail "B's build did not say how ccache served it"
read -r b_served b_compiles b_local b_remote _ b_compiled <<<"$account"
echo "machine B: ${b_seconds} s, $b_served of $b_compiles kernel compiles from the cache ($b_remote remote," \
	"$b_local local), $b_compiled compiled; A: ${a_seconds} s"
[ "$b_compiled" -eq 0 ] && [ "$b_served" -eq "$b_compiles" ] ||
	fail "B compiled $b_compiled kernel files: they should have come from the remote cache"
# A few objects are compiled twice by Kbuild (host tools), the second time a local hit.
[ "$b_remote" -ge $((b_compiles * 9 / 10)) ] || fail "B had only $b_remote remote hits of $b_compiles"
ok "B: all $b_compiles kernel compiles from the cache ($b_remote remote), none compiled;" \
	"${b_seconds} s against A's ${a_seconds} s"

echo "== machine C: distcc behind ccache; a local cache that has lost a sixteenth of B's objects"
# So that C compiles some files, and only those: ccache runs distcc for each miss.
mkdir -p "$work/C"
cp -a "$work/B/ccache" "$work/C/ccache"
find "$work/C/ccache/0" -type f ! -name stats -delete
export DISTCC_DIR="$work/distcc" DISTCC_HOSTS="127.0.0.1:$distcc_port/$slots"
mkdir -p "$DISTCC_DIR"
distributed_before=$(grep -c COMPILE_OK "$work/distccd.log" || true)
CCACHE_DIR="$work/C/ccache" CCACHE_PREFIX=distcc build C
c_seconds=$seconds
unset DISTCC_HOSTS
account=$(kernel_account "$work/C.log")
[ -n "$account" ] || fail "C's build did not say how ccache served it"
read -r _ c_compiles _ _ _ c_compiled <<<"$account"
# The kernel's compiles distccd ran for C (the module's, in _uml/module, aside).
c_distributed=$(grep COMPILE_OK "$work/distccd.log" | tail -n +$((distributed_before + 1)) |
	grep -vc "/_uml/module/" || true)
echo "machine C: ${c_seconds} s, $c_compiled of $c_compiles kernel compiles compiled, $c_distributed by distccd"
grep -q -- "-j$slots, the slots distcc's hosts offer" "$work/C.log" || fail "C's -j did not follow distcc's $slots slots"
ok "C: Kbuild's -j follows distcc's $slots slots"
[ "$c_compiled" -gt 5 ] || fail "C compiled only $c_compiled files; the test needs misses"
# Nearly all: a compile distcc cannot send (an -S for asm-offsets) runs locally.
[ $((c_distributed * 10)) -ge $((c_compiled * 9)) ] ||
	fail "distccd compiled $c_distributed of the $c_compiled kernel files C's ccache missed; the rest ran locally"
ok "C: distccd compiled $c_distributed of the $c_compiled kernel compiles ccache missed"

echo "== machine D: B's tree, an empty local cache, the remote storage down"
kill -TERM -- "-${servers[0]}"
wait "${servers[0]}" 2>/dev/null || true
echo '/* edited on machine D */' >>"$work/project/greeting.c"
CCACHE_DIR="$work/D/ccache" CCACHE_REMOTE_STORAGE="redis://127.0.0.1:$redis_port|connect-timeout=200" \
	UML_KBUILD_FAST_PATH=0 run_group cmake --build "$work/B/build" --target greeting >"$work/D.log" 2>&1 || {
	cat "$work/D.log"
	fail "machine D: the module build failed with the remote storage down"
}
cut -c1-300 "$work/D.log"
d_errors=$(stat_of "$work/D/ccache" remote_storage_error)
[ "${d_errors:-0}" -gt 0 ] && grep -q "remote storage failed" "$work/D.log" ||
	fail "D: a remote storage that is down gave no warning"
ok "D: the remote storage down is a warning; the module built ($d_errors remote errors)"

echo "figures: machine A (cold) ${a_seconds} s, $a_compiled compiles; machine B (remote cache) ${b_seconds} s," \
	"$b_served of $b_compiles from the cache ($b_remote remote); machine C (distcc) ${c_seconds} s," \
	"$c_compiled compiled, $c_distributed on distccd" | tee "$work/figures.txt"
