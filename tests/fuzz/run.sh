#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS — builds every tests/fuzz/fuzz_*.c as a libFuzzer
# target (clang, AddressSanitizer + UndefinedBehaviorSanitizer, glibc, the
# system's libelf/libdwarf) and runs each for SECONDS on a copy of its seed
# corpus. The repository's corpus is never written: new inputs go to the
# copy, crash inputs to a scratch directory that is kept and named when a
# target fails (add such an input to the corpus as regress_* once fixed).
# One line per target, then "N passed, N failed". Run by ./build.sh fuzz and
# tests/run.sh (CI, 20 s each).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=$ROOT/build
F=$B/fuzz
SECONDS_EACH=${1:-20}
case $SECONDS_EACH in ''|*[!0-9]*) echo "usage: tests/fuzz/run.sh SECONDS" >&2; exit 2 ;; esac
mkdir -p "$F/lib"

# The seed corpus of each target, and its extra libFuzzer options.
corpus_of() {
	case $1 in
	fuzz_sym) echo elf ;;
	*) echo "${1#fuzz_}" ;;
	esac
}
options_of() {
	case $1 in
	fuzz_sym) echo "-max_len=200000" ;;
	fuzz_replay) echo "-max_len=65536" ;;
	fuzz_bpfobj) echo "-max_len=16384" ;;
	fuzz_unwind) echo "-max_len=32768" ;;
	esac
}

passed=0
failed=0
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror -I$ROOT"

# Every module but main, instrumented once, as an archive: each target links
# only what it uses. The embedded BPF object comes with it (loader/embed.S).
build_lib() {
	local f o objs=()
	[ -e "$B/bpf.o" ] || { echo "build/bpf.o is missing: run ./build.sh first" >&2; return 1; }
	for f in $(ls loader/*.c dwarf/*.c ui/*.c | grep -v '^ui/main.c$'); do
		o=$F/lib/$(echo "${f%.c}" | tr / _).o
		objs+=("$o")
		if [ ! -e "$o" ] || [ "$f" -nt "$o" ] || [ -n "$(find loader dwarf ui -name '*.h' -newer "$o")" ]; then
			clang $CFLAGS $SAN -c "$f" -o "$o" || return 1
		fi
	done
	clang -c -DHUD_BPF_OBJECT="\"$B/bpf.o\"" loader/embed.S -o "$F/lib/embed.o" || return 1
	rm -f "$F/libhud.a"
	ar rcs "$F/libhud.a" "${objs[@]}" "$F/lib/embed.o"
}

if ! build_lib > "$F/build.log" 2>&1; then
	cat "$F/build.log"
	echo "0 passed, 1 failed"
	exit 1
fi

scratch=$(mktemp -d)
keep=0
trap '[ $keep = 1 ] || rm -rf "$scratch"' EXIT
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	corpus=tests/fuzz/corpus/$(corpus_of "$name")
	if ! clang $CFLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		"$src" "$F/libhud.a" -lelf -ldwarf -lz -o "$F/$name" > "$F/$name.build.log" 2>&1; then
		sed 's/^/    /' "$F/$name.build.log" | head -20
		printf '%-16s FAIL: does not build\n' "$name"
		failed=$((failed + 1))
		continue
	fi
	work=$scratch/$name
	mkdir -p "$work/corpus" "$work/artifacts"
	[ -d "$corpus" ] && cp -r "$corpus/." "$work/corpus/"
	# -timeout: one input taking 10 s is a hang; UBSan reports abort.
	# shellcheck disable=SC2046
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	"$F/$name" -max_total_time="$SECONDS_EACH" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" $(options_of "$name") "$work/corpus" \
		> "$work/log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$')
	if [ $rc = 0 ] && [ -z "$(ls -A "$work/artifacts")" ]; then
		printf '%-16s ok: %s runs in %s s, %s seeds\n' "$name" "${runs:-?}" "$SECONDS_EACH" \
			"$(ls "$corpus" 2>/dev/null | wc -l)"
		passed=$((passed + 1))
	else
		keep=1
		printf '%-16s FAIL (exit %s): inputs in %s, log %s\n' "$name" "$rc" "$work/artifacts" "$work/log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$work/log" | head -5 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
