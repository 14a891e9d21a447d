#!/usr/bin/env bash
# build.sh — builds hud and everything around it.
#
#   ./build.sh            build/hud: static x86-64 binary (musl, libelf, libdwarf inside)
#   ./build.sh demo       build everything, start the Tokio demo app, profile it live
#   ./build.sh test       all tests; the last line is "N passed, N failed"
#   ./build.sh fuzz SECS  build the libFuzzer targets (tests/fuzz/) and run each SECS seconds
#   ./build.sh bench      overhead and scale, measured: one table (docs/PERFORMANCE.md), < 10 min
#   ./build.sh clean      remove build/
#
# Missing Debian packages are installed when run as root, otherwise the exact
# apt-get line is printed.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
B=$ROOT/build
LIBDIR=/usr/lib/x86_64-linux-gnu
# rustup's cargo, when that is how Rust is installed here.
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"

CFLAGS_COMMON="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -I$ROOT"
# The library versions linked in, for `hud --version` (ui/main.c).
build_libs() {
	local v p out=""
	for p in libelf-dev musl-dev zlib1g-dev libzstd-dev; do
		v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) || v=unknown
		out="$out${out:+, }${p%-dev} $v"
	done
	echo "$out"
}

# ---- packages -------------------------------------------------------------
# "file-that-must-exist package" pairs, by what each command needs.
PKGS_BUILD="/usr/bin/clang:clang /usr/bin/musl-gcc:musl-tools /usr/bin/gcc:gcc
$LIBDIR/libelf.a:libelf-dev /usr/include/libdwarf/libdwarf.h:libdwarf-dev
$LIBDIR/libz.a:zlib1g-dev $LIBDIR/libzstd.a:libzstd-dev /usr/include/linux/bpf.h:linux-libc-dev
/usr/bin/file:file"
PKGS_DEMO="/usr/share/cargo/registry/tokio-1.24.2:librust-tokio-dev"
PKGS_TEST="/usr/bin/addr2line:binutils /usr/bin/jq:jq /usr/bin/python3:python3
/usr/sbin/bpftool:bpftool /usr/bin/tmux:tmux /usr/bin/go:golang-go
/usr/bin/qemu-system-x86_64:qemu-system-x86 /usr/bin/cpio:cpio"
PKGS_BENCH="/usr/bin/bpftrace:bpftrace /usr/sbin/bpftool:bpftool /usr/bin/perf:linux-perf
/usr/bin/python3:python3 /usr/bin/readelf:binutils /usr/bin/unshare:util-linux"

apt_updated=0
ensure_packages() {
	local missing=() pair
	for pair in $1; do
		[ -e "${pair%%:*}" ] || missing+=("${pair##*:}")
	done
	if [ "$2" = cargo ] && ! command -v cargo >/dev/null; then
		missing+=(cargo rustc)
	fi
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "build.sh: missing packages; install them with:" >&2
		echo "  sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	echo "build.sh: installing ${missing[*]}" >&2
	if [ $apt_updated = 0 ]; then
		apt-get update -qq >&2
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ---- hud ------------------------------------------------------------------
# Headers musl's compiler may see: the kernel's uapi headers and the three
# library headers, but none of glibc's own (they would shadow musl's).
musl_includes() {
	local inc=$B/include
	mkdir -p "$inc"
	ln -sfn /usr/include/linux "$inc/linux"
	ln -sfn /usr/include/asm-generic "$inc/asm-generic"
	ln -sfn /usr/include/x86_64-linux-gnu/asm "$inc/asm"
	ln -sfn /usr/include/libelf.h "$inc/libelf.h"
	ln -sfn /usr/include/gelf.h "$inc/gelf.h"
	ln -sfn /usr/include/libdwarf "$inc/libdwarf"
	ln -sfn /usr/include/zlib.h "$inc/zlib.h"
	ln -sfn /usr/include/zconf.h "$inc/zconf.h"
	echo "$inc"
}

sources() { # the product's C files, main included
	ls loader/*.c dwarf/*.c ui/*.c
}

build_bpf() {
	mkdir -p "$B"
	clang -O2 -target bpf -Wall -Wextra -Werror -I/usr/include/x86_64-linux-gnu -I"$ROOT" \
		-c bpf.c -o "$B/bpf.o"
}

build_hud() {
	ensure_packages "$PKGS_BUILD" none
	build_bpf
	local inc obj=$B/obj objs=() f o libs
	inc=$(musl_includes)
	libs=$(build_libs)
	mkdir -p "$obj"
	for f in $(sources); do
		o=$obj/$(echo "${f%.c}" | tr / _).o
		objs+=("$o")
		if [ ! -e "$o" ] || [ "$f" -nt "$o" ] || [ -n "$(find loader dwarf ui -name '*.h' -newer "$o")" ]; then
			musl-gcc $CFLAGS_COMMON -isystem "$inc" -DHUD_BUILD_LIBS="\"$libs\"" -c "$f" -o "$o"
		fi
	done
	musl-gcc -c -DHUD_BPF_OBJECT="\"$B/bpf.o\"" loader/embed.S -o "$obj/embed.o"
	# Debian's libelf.a and libdwarf.a are compiled for glibc; the few
	# glibc-only symbols they use come from dwarf/glibc_compat.c.
	musl-gcc -static -o "$B/hud" "${objs[@]}" "$obj/embed.o" \
		"$LIBDIR/libdwarf.a" "$LIBDIR/libelf.a" "$LIBDIR/libz.a" "$LIBDIR/libzstd.a"
	echo "built $B/hud ($(file -b "$B/hud" | cut -d, -f1-5))" >&2
}

# ---- demo app ---------------------------------------------------------------
DEMO=$B/demo-target/release/hud-demo
build_demo() {
	ensure_packages "$PKGS_DEMO" cargo
	(cd tests/demo && CARGO_TARGET_DIR="$B/demo-target" cargo build --release -q)
}

case "${1:-build}" in
build) build_hud ;;
demo)
	build_hud
	build_demo
	[ "$(id -u)" = 0 ] || { echo "build.sh demo: profiling needs root; run: sudo ./build.sh demo" >&2; exit 1; }
	"$DEMO" --quiet &
	demo_pid=$!
	trap 'kill $demo_pid 2>/dev/null || true' EXIT
	sleep 1
	# The live UI on a terminal (q quits, and the demo app stops with it);
	# a headless run with a summary otherwise.
	if [ -t 1 ] && [ -z "${DEMO_SECONDS:-}" ]; then
		"$B/hud" --pid "$demo_pid" --export "$B/demo-trace.json"
	else
		"$B/hud" --pid "$demo_pid" --headless --duration "${DEMO_SECONDS:-20}" --export "$B/demo-trace.json"
	fi
	echo "trace: $B/demo-trace.json (open it in https://ui.perfetto.dev, or: build/hud --replay build/demo-trace.json)"
	;;
test)
	build_hud
	build_demo
	ensure_packages "$PKGS_TEST" none
	exec bash tests/run.sh
	;;
fuzz)
	build_hud
	exec bash tests/fuzz/run.sh "${2:-60}"
	;;
bench)
	build_hud
	build_demo
	ensure_packages "$PKGS_BENCH" none
	# The context-switch-heavy workload of the slowdown and throughput rows.
	(cd tests/bench/pingpong && CARGO_TARGET_DIR="$B/pingpong-target" cargo build --release -q)
	[ "$(id -u)" = 0 ] || { echo "build.sh bench: BPF and perf need root; run: sudo ./build.sh bench" >&2; exit 1; }
	exec python3 tests/bench/bench.py
	;;
clean) rm -rf "$B" ;;
*) echo "usage: ./build.sh [build|demo|test|fuzz SECONDS|bench|clean]" >&2; exit 2 ;;
esac
