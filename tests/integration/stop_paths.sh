# stop_paths.sh — however a headless run ends (SIGINT, SIGTERM, the target
# exiting), the export is complete and valid and nothing stays attached.
. "$(dirname "$0")/../lib.sh"

before=$(hud_prog_count)
for sig in INT TERM HUP; do
	start_demo --scenario cpu || { not_ok "demo app starts"; continue; }
	"$HUD" --pid "$DEMO_PID" --headless --export "$WORK/$sig.json" > "$WORK/$sig.txt" 2>&1 &
	hud=$!
	sleep 3
	kill -$sig $hud
	wait $hud
	rc=$?
	check "SIG$sig: hud exits 0" test $rc = 0
	check "SIG$sig: the export is complete JSON" jq -e '.otherData.stop_reason | test("signal")' "$WORK/$sig.json"
	check "SIG$sig: the summary was printed" grep -q "Top blocking culprits" "$WORK/$sig.txt"
	stop_demos
done

start_demo --scenario cpu --duration 4 || not_ok "demo app starts"
"$HUD" --pid "$DEMO_PID" --headless --export "$WORK/exit.json" > "$WORK/exit.txt" 2>&1
rc=$?
check "target exit: hud exits 0 on its own" test $rc = 0
check "target exit: the export says why it stopped" jq -e '.otherData.stop_reason == "target exited"' "$WORK/exit.json"
check "target exit: the export has the cpu culprit" jq -e \
	'[.traceEvents[] | select(.ph=="B" and (.name|test("compute_checksum$")))] | length > 0' "$WORK/exit.json"
# ---- the target runs exec ---------------------------------------------------------------
# hud follows one program image: its symbols, code range and workers are that
# image's. A process that execs (here threads named like Tokio's workers, then
# exec into sleep) is another program under the same pid: hud stops and says
# so, rather than naming the new program's code from the old one's symbols.
cat > "$WORK/execer.c" <<'C'
#include <pthread.h>
#include <unistd.h>
static void *spin(void *a) { (void)a; for (;;) { volatile unsigned long x = 0; for (unsigned long i = 0; i < 40000000; i++) x += i; usleep(10000); } return 0; }
int main(void) {
	pthread_t t[2];
	for (int i = 0; i < 2; i++) { pthread_create(&t[i], 0, spin, 0); pthread_setname_np(t[i], "tokio-runtime-w"); }
	sleep(3);
	execlp("sleep", "sleep", "20", (char *)0);
	return 1;
}
C
if gcc -O1 -g -fno-omit-frame-pointer -pthread -o "$WORK/execer" "$WORK/execer.c" 2> "$WORK/execer.err"; then
	"$WORK/execer" & execer=$!
	sleep 1
	timeout 30 "$HUD" --pid $execer --headless --duration 20 --export "$WORK/exec.json" > "$WORK/exec.txt" 2>&1
	rc=$?
	check "exec: hud stops on its own, exit 0 (rc $rc)" test $rc = 0
	check "exec: the summary says the target ran exec" grep -q "stopped: target ran exec" "$WORK/exec.txt"
	check "exec: the export says why it stopped" jq -e '.otherData.stop_reason | test("exec")' "$WORK/exec.json"
	kill $execer 2>/dev/null; wait $execer 2>/dev/null
else
	not_ok "exec: gcc builds the test program ($(head -1 "$WORK/execer.err"))"
fi
check "nothing stays attached" test "$(hud_prog_count_settled "$before")" = "$before"
finish
