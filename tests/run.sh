#!/usr/bin/env bash
# tests/run.sh — every test of hud, run by ./build.sh test after it built
# build/hud and the demo app. Unit tests are C programs (tests/unit/test_*.c)
# built against glibc and the system's libelf/libdwarf; integration tests
# (tests/integration/*.sh) drive build/hud on the running demo app as a user
# would. Each prints "N passed, N failed"; the sum is the last line here.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/build
T=$B/tests
mkdir -p "$T"
passed=0
failed=0
failures=()

# Adds the counts of the "N passed, N failed" line in file $2 for test $1;
# a test that printed no such line, or exited non-zero with no failure
# counted, is one failure.
tally() {
	local name=$1 out=$2 rc=$3 line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1)); failures+=("$name (no result line, exit $rc)")
		return
	fi
	p=${line%% passed*}
	f=${line#*passed, }; f=${f%% failed*}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	passed=$((passed + p)); failed=$((failed + f))
	[ "$f" = 0 ] || failures+=("$name")
	printf '%-40s %s\n' "$name" "$line"
}

CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer -I$ROOT"
LIBSRC=$(ls loader/*.c dwarf/*.c ui/*.c | grep -v '^ui/main.c$')
gcc -c -DHUD_BPF_OBJECT="\"$B/bpf.o\"" loader/embed.S -o "$T/embed.o"

echo "== unit tests"
for src in tests/unit/test_*.c; do
	name=$(basename "$src" .c)
	if ! gcc $CFLAGS -o "$T/$name" "$src" $LIBSRC "$T/embed.o" -lelf -ldwarf -lz > "$T/$name.build.log" 2>&1; then
		cat "$T/$name.build.log"
		failed=$((failed + 1)); failures+=("$name (does not build)")
		continue
	fi
	(cd "$T" && "./$name" "$B/demo-target/release/hud-demo") > "$T/$name.out" 2>&1
	rc=$?
	tally "$name" "$T/$name.out" $rc
	[ $rc = 0 ] || sed 's/^/    /' "$T/$name.out" | grep -v '^    [0-9]* passed' | head -20
done

# The same unit tests built with AddressSanitizer and UndefinedBehaviorSanitizer
# (clang, glibc), any report fatal, leaks included. The modules are compiled
# once into an archive. test_loader is left out: it checks the kernel's view
# of a thread spinning in the test itself (stack through spin_ms, on-CPU
# time), and ASan's instrumented frames and slowdown change exactly that.
echo "== unit tests with ASan+UBSan"
A=$T/asan
mkdir -p "$A/lib"
SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
asan_lib() {
	local f objs=() pids=() p bad=0
	for f in $LIBSRC; do
		objs+=("$A/lib/$(echo "${f%.c}" | tr / _).o")
		clang $CFLAGS $SANFLAGS -c "$f" -o "${objs[-1]}" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || bad=1; done
	[ $bad = 0 ] &&
	clang -c -DHUD_BPF_OBJECT="\"$B/bpf.o\"" loader/embed.S -o "$A/lib/embed.o" &&
		rm -f "$A/libhud.a" && ar rcs "$A/libhud.a" "${objs[@]}" "$A/lib/embed.o"
}
if ! asan_lib > "$A/lib.build.log" 2>&1; then
	cat "$A/lib.build.log"
	failed=$((failed + 1)); failures+=("asan: modules do not build")
else
	for src in tests/unit/test_*.c; do
		name=$(basename "$src" .c)
		[ "$name" = test_loader ] && continue
		if ! clang $CFLAGS $SANFLAGS -o "$A/$name" "$src" "$A/libhud.a" -lelf -ldwarf -lz > "$A/$name.build.log" 2>&1; then
			cat "$A/$name.build.log"
			failed=$((failed + 1)); failures+=("asan:$name (does not build)")
			continue
		fi
		(cd "$A" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			"./$name" "$B/demo-target/release/hud-demo") > "$A/$name.out" 2>&1
		rc=$?
		tally "asan:$name" "$A/$name.out" $rc
		[ $rc = 0 ] || grep -E '^(FAIL|==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$A/$name.out" | sed 's/^/    /' | head -20
	done
fi

# Each libFuzzer target (tests/fuzz/) for a fixed 20 s on a copy of its seeds.
echo "== fuzzing"
bash tests/fuzz/run.sh 20 > "$T/fuzz.out" 2>&1
rc=$?
sed 's/^/    /' "$T/fuzz.out" | grep -v 'passed, .* failed'
tally "fuzz" "$T/fuzz.out" $rc

echo "== integration tests"
for t in tests/integration/*.sh; do
	name=$(basename "$t" .sh)
	HUD="$B/hud" DEMO="$B/demo-target/release/hud-demo" ROOT="$ROOT" WORK="$T/$name.d" \
		timeout 600 bash "$t" > "$T/$name.out" 2>&1
	rc=$?
	tally "$name" "$T/$name.out" $rc
	[ $rc = 0 ] || grep -E '^(FAIL|not ok)' "$T/$name.out" | sed 's/^/    /' | head -20
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
