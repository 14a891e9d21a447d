# bad_input.sh — each wrong start gets one clear sentence, a non-zero exit,
# and leaves nothing attached.
. "$(dirname "$0")/../lib.sh"

before=$(hud_prog_count)

# hud_says "what" "expected words" ARGS...: hud fails, saying those words.
hud_says() {
	local what=$1 words=$2; shift 2
	"$HUD" "$@" > "$WORK/out.txt" 2> "$WORK/err.txt"
	local rc=$?
	if [ $rc != 0 ] && grep -q -- "$words" "$WORK/err.txt" && [ "$(wc -l < "$WORK/err.txt")" -le 2 ]; then
		ok "$what"
	else
		not_ok "$what (exit $rc: $(head -c 300 "$WORK/err.txt"))"
	fi
}

hud_says "a pid that does not exist" "no process with pid 4194000" --pid 4194000 --headless
hud_says "a kernel thread (kthreadd) is no program, and hud says so" "process 2 is a kernel thread" --pid 2 --headless
# A name left over beside --pid (hud --pid $(pgrep a b)) is not ignored.
hud_says "a pid and a process name together" "give --pid or a process name, not both" --pid $$ hud-demo --headless
# hud NAME: a zombie of that name (exited, not reaped) is no candidate;
# two live ones are listed by pid.
cp /bin/sleep "$WORK/hudzzname"
bash -c "'$WORK/hudzzname' 0 & exec '$WORK/hudzzname' 30" & zparent=$!
sleep 0.5
"$HUD" hudzzname --headless --duration 1 > "$WORK/out.txt" 2> "$WORK/err.txt"
check "hud NAME: a zombie of that name is not counted ($(head -c 200 "$WORK/err.txt"))" \
	bash -c "! grep -q 'processes are called' '$WORK/err.txt' && grep -q 'process $zparent' '$WORK/err.txt'"
"$WORK/hudzzname" 30 & zother=$!
hud_says "hud NAME with two live processes lists their pids" "2 processes are called hudzzname (pids .*$zother" \
	hudzzname --headless
kill $zparent $zother; wait $zparent $zother 2>/dev/null
# Names longer than the 15 bytes Linux keeps: the whole name must be the
# executable's or argv[0]'s (a cut one that happens to share 15 bytes is
# not taken for it).
cp /bin/sleep "$WORK/hud-long-service-name"
"$WORK/hud-long-service-name" 30 & longp=$!
sleep 0.3
"$HUD" hud-long-service-name --headless --duration 1 > "$WORK/out.txt" 2> "$WORK/err.txt"
check "hud NAME longer than 15 bytes finds its process" grep -q "process $longp" "$WORK/err.txt"
hud_says "... and a longer name sharing its first 15 bytes does not" "no process is called hud-long-servi-x" \
	hud-long-servi-x --headless
kill $longp; wait $longp 2>/dev/null
# Two pids (pgrep matched two processes): said as such, not as a name.
hud_says "two pids to --pid, as \$(pgrep NAME) gives when two match" "--pid takes one pid, and $PPID is another" \
	--pid $$ $PPID --headless
sleep 60 & plain=$!
hud_says "a process without Tokio workers, with a hint about --workers and its thread names" "its threads are named sleep.*pass --workers PREFIX.*has not started yet" --pid $plain --headless --duration 1
check "--workers PREFIX picks the threads it names" "$HUD" --pid $plain --headless --duration 1 --workers sleep
# A prefix no thread has: said while hud goes on, with the names there are.
"$HUD" --pid $plain --headless --duration 2 --workers nosuch > "$WORK/out.txt" 2> "$WORK/err.txt"
check "--workers that names no thread: a warning naming the threads there are ($(grep -c warning "$WORK/err.txt"))" \
	grep -q "warning: no thread of process $plain is named nosuch\*.*sleep" "$WORK/err.txt"
# Thread names are cut to 15 characters: a longer prefix matches on those.
"$HUD" --pid $plain --headless --duration 1 --workers sleep-and-more-than-15 > "$WORK/out.txt" 2> "$WORK/err.txt"
check "--workers longer than a thread name is cut to 15 characters, and says so (exit $?)" \
	grep -q "matches thread names starting with sleep-and-more-" "$WORK/err.txt"
kill $plain

start_demo --scenario cpu || { not_ok "demo app starts"; finish; exit 1; }
hud_says "an unwritable export path fails" "cannot write the export" --pid "$DEMO_PID" --headless --export /nonexistent-dir/t.json
check "... before attaching" test "$(grep -c 'profiling pid' "$WORK/err.txt")" = 0
cp "$HUD" /tmp/hud-unprivileged && chmod 755 /tmp/hud-unprivileged
if command -v setpriv > /dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all /tmp/hud-unprivileged --pid "$DEMO_PID" --headless \
		> "$WORK/out.txt" 2> "$WORK/err.txt"
	rc=$?
	check "without root: non-zero exit" test $rc != 0
	check "without root: names the privilege and sudo" grep -q "needs root or CAP_BPF+CAP_PERFMON.*sudo" "$WORK/err.txt"
fi
rm -f /tmp/hud-unprivileged
hud_says "a bad option value" "--threshold takes milliseconds" --pid "$DEMO_PID" --headless --threshold -3
hud_says "an export path that is a directory fails before attaching" "--export $WORK is a directory" \
	--pid "$DEMO_PID" --headless --export "$WORK"
check "... before attaching" test "$(grep -c 'profiling pid' "$WORK/err.txt")" = 0
# A worker's thread id (htop lists threads): its process is profiled, and
# said so (before: "none: no worker was blocked", with no sample).
worker_tid=$(grep -l tokio-runtime-w /proc/"$DEMO_PID"/task/*/comm | head -1 | cut -d/ -f5)
"$HUD" --pid "$worker_tid" --headless --duration 3 > "$WORK/out.txt" 2> "$WORK/err.txt"
check "a thread id: hud says whose thread it is and profiles the process" \
	grep -q "$worker_tid is a thread of process $DEMO_PID; profiling the process" "$WORK/err.txt"
check "... and finds its culprit" grep -q "compute_checksum" "$WORK/out.txt"
# A stopped process runs nothing: said, not passed off as healthy. The
# stop is taken by each thread as it next runs: the test waits until the
# process reads as stopped (/proc/PID/stat), as hud then does (a CI run
# started hud before that, once).
kill -STOP "$DEMO_PID"
for _ in $(seq 50); do
	[ "$(sed 's/.*) //' /proc/"$DEMO_PID"/stat | cut -d' ' -f1)" = T ] && break
	sleep 0.1
done
"$HUD" --pid "$DEMO_PID" --headless --duration 2 > "$WORK/out.txt" 2> "$WORK/err.txt"
kill -CONT "$DEMO_PID"
check "a stopped process: a warning that says so and how to continue it" \
	grep -q "warning: process $DEMO_PID is stopped.*kill -CONT $DEMO_PID" "$WORK/out.txt"
stop_demos

# A target without debug info still gets function names, from the symbol table.
objcopy --strip-debug "$DEMO" "$WORK/hud-demo-nodebug"
DEMO=$WORK/hud-demo-nodebug start_demo --scenario cpu || { not_ok "stripped demo starts"; finish; exit 1; }
"$HUD" --pid "$DEMO_PID" --headless --duration 4 > "$WORK/out.txt" 2> "$WORK/err.txt"
rc=$?
check "no debug info: still exits 0" test $rc = 0
check "no debug info: warns and says how to fix it" grep -q "no debug info.*debug = true" "$WORK/err.txt"
check "no debug info: the culprit is named from the symbol table" grep -q "compute_checksum" "$WORK/out.txt"
stop_demos

# Debug info split off beside the binary (.gnu_debuglink), as distributions
# and deploy scripts do: found through the running process.
mkdir -p "$WORK/split"
objcopy --only-keep-debug "$DEMO" "$WORK/split/hud-demo.debug"
objcopy --strip-debug --add-gnu-debuglink="$WORK/split/hud-demo.debug" "$DEMO" "$WORK/split/hud-demo"
cpu_line=$(grep -n "HUD-CULPRIT: cpu compute_checksum" "$ROOT/tests/demo/src/cpu.rs" | cut -d: -f1)
DEMO=$WORK/split/hud-demo start_demo --scenario cpu || { not_ok "split demo starts"; finish; exit 1; }
"$HUD" --pid "$DEMO_PID" --headless --duration 4 > "$WORK/out.txt" 2> "$WORK/err.txt"
check "debug info in a file beside it (.gnu_debuglink): no warning" test "$(grep -c 'no debug info' "$WORK/err.txt")" = 0
check "... and the culprit at its line, cpu.rs:$cpu_line" grep -q "compute_checksum (.*cpu.rs:$cpu_line)" "$WORK/out.txt"
stop_demos

# In a container of its own making (a mount namespace, a tmpfs root, a
# chroot): /proc/PID/maps names its files by paths only its namespace
# holds, so the C library is opened through map_files (before: its frames
# were "libc.so.6+0x...", unnamed).
croot=$WORK/croot
mkdir -p "$croot"
unshare -m -p -f --mount-proc sh -c "mount -t tmpfs tmpfs '$croot' &&
	mkdir -p '$croot/lib/x86_64-linux-gnu' '$croot/lib64' '$croot/app' &&
	cp -L /lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/libgcc_s.so.1 '$croot/lib/x86_64-linux-gnu/' &&
	cp -L /lib64/ld-linux-x86-64.so.2 '$croot/lib64/' && cp '$DEMO' '$croot/app/demo' &&
	exec chroot '$croot' /app/demo --quiet --scenario sleep --duration 9" > /dev/null 2>&1 &
upid=$!
sleep 1.5
cpid=$(pgrep -f "^/app/demo --quiet --scenario sleep" | head -1)
if [ -n "$cpid" ]; then
	"$HUD" --pid "$cpid" --headless --duration 4 --export "$WORK/croot.json" > "$WORK/out.txt" 2> "$WORK/err.txt"
	check "in a container: the C library's frames are named (clock_nanosleep under the sleep)" jq -e \
		'[.traceEvents[] | select(.ph=="B" and .args.kind=="off_cpu") | .args.stack[0] | test("clock_nanosleep")] | any' \
		"$WORK/croot.json"
	check "... and the culprit at its line, sleep.rs" grep -q "throttle_backend (.*sleep.rs:30)" "$WORK/out.txt"
	kill "$cpid"
else
	not_ok "in a container: the demo app starts under unshare and chroot"
fi
wait $upid

# Started through the dynamic loader (ld.so ./app): /proc/PID/exe is the
# loader, the application's code a file it maps, found by Tokio's code in
# it (as a library an interpreter loads is). Before, every block was named
# in the C library, with no cpu block at all.
loader=$(readlink -f /lib64/ld-linux-x86-64.so.2)
"$loader" "$DEMO" --quiet --scenario cpu --duration 9 > /dev/null 2>&1 & ldpid=$!
sleep 1
"$HUD" --pid $ldpid --headless --duration 5 > "$WORK/out.txt" 2> "$WORK/err.txt"
check "started through ld.so: hud says where it reads the application's code from" \
	grep -q "has no Tokio code; the application's is read from .*hud-demo" "$WORK/err.txt"
check "... and names the culprit at its line, cpu.rs:$cpu_line" grep -qE "^  cpu(\+[a-z_+]+)? .*compute_checksum \(.*cpu.rs:$cpu_line\)" "$WORK/out.txt"
kill $ldpid; wait $ldpid 2>/dev/null

# No symbols at all (strip): hud cannot tell the application's code from
# Tokio's, and says what to do instead of reporting nothing as if all was well.
strip -o "$WORK/hud-demo-stripped" "$DEMO"
DEMO=$WORK/hud-demo-stripped start_demo --scenario cpu || { not_ok "stripped demo starts"; finish; exit 1; }
"$HUD" --pid "$DEMO_PID" --headless --duration 3 > "$WORK/out.txt" 2> "$WORK/err.txt"
check "no symbols: a warning that names the fix, --target with the unstripped binary" \
	grep -q "has no symbols.*--target" "$WORK/err.txt"
check "... and the summary says blocking could not be told" grep -q "no symbols" "$WORK/out.txt"
stop_demos

# ---- built without frame pointers -------------------------------------------------------
# hud walks stacks by frame pointers; a Rust release build has none unless
# asked. Tokio's worker loop is built with the application's flags, so its
# first instructions tell: a program whose loop (here a C function under
# Tokio's mangled name, in threads named like the workers) does not set up
# rbp gets a warning that names the fix; one that does, none.
cat > "$WORK/fp.c" <<'C'
#include <pthread.h>
#include <unistd.h>
__attribute__((noinline)) long ctx_run(long n)
	__asm__("_ZN5tokio7runtime9scheduler12multi_thread6worker7Context3run17h0123456789abcdefE");
__attribute__((noinline)) long ctx_run(long n) { volatile long a[64]; for (long i = 0; i < 64; i++) a[i] = i * n; return a[n & 63]; }
static void *loop(void *p) { (void)p; for (;;) { ctx_run(3); usleep(20000); } return 0; }
int main(void) {
	pthread_t t[2];
	for (int i = 0; i < 2; i++) { pthread_create(&t[i], 0, loop, 0); pthread_setname_np(t[i], "tokio-runtime-w"); }
	sleep(30);
	return 0;
}
C
for fp in omit keep; do
	if ! gcc -O1 -f$([ $fp = omit ] && echo omit || echo no-omit)-frame-pointer -pthread -o "$WORK/fp-$fp" "$WORK/fp.c" \
		2> "$WORK/fp.err"; then
		not_ok "frame pointers: gcc builds the test program ($(head -1 "$WORK/fp.err"))"
		continue
	fi
	"$WORK/fp-$fp" & fpid=$!
	sleep 0.5
	"$HUD" --pid $fpid --headless --duration 1 > "$WORK/fp-$fp.out" 2> "$WORK/fp-$fp.txt"
	kill $fpid; wait $fpid 2>/dev/null
done
check "without frame pointers: a warning that names the fix" \
	grep -q "without frame pointers.*force-frame-pointers=yes" "$WORK/fp-omit.txt"
check "with frame pointers: no such warning" sh -c "! grep -q 'frame pointers' '$WORK/fp-keep.txt'"
check "nothing stays attached after all of these" test "$(hud_prog_count_settled "$before")" = "$before"
finish
