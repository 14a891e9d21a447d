# lib.sh — shared by the integration tests: assertions that count, and the
# demo app started and stopped around a test. Sourced, not run.
set -u
PASSED=0
FAILED=0
mkdir -p "$WORK"

ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
not_ok() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; }
# check "what" command...: passes when the command succeeds.
check() { local what=$1; shift; if "$@" > /dev/null 2>&1; then ok "$what"; else not_ok "$what"; fi; }
finish() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" = 0 ]; }

DEMO_PIDS=()
# start_demo ARGS...: starts the demo app, sets DEMO_PID once its workers run.
start_demo() {
	"$DEMO" --quiet "$@" > "$WORK/demo.out" 2>&1 &
	DEMO_PID=$!
	DEMO_PIDS+=("$DEMO_PID")
	for _ in $(seq 50); do
		grep -q '^tokio-runtime-w' /proc/"$DEMO_PID"/task/*/comm 2>/dev/null && return 0
		sleep 0.1
	done
	echo "demo app did not start: $(cat "$WORK/demo.out")"
	return 1
}
stop_demos() { local p; for p in "${DEMO_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; DEMO_PIDS=(); }
trap stop_demos EXIT

# culprit_line KIND NAME: the line marked "// HUD-CULPRIT: KIND NAME" in the demo's sources, as file:line.
culprit_line() {
	grep -rn "HUD-CULPRIT: $1 $2\b" "$ROOT/tests/demo/src" | head -n 1 | cut -d: -f1,2
}

# stall_watch_start SECONDS: notes the machine's own stalls (the test VM
# stops every thread for 5-8 ms a few times in 10 s) while a test profiles,
# into $WORK/stalls.txt; STALL_WATCH is its pid, to wait for.
stall_watch_start() {
	gcc -O2 -Wall -o "$WORK/stall_watch" "$ROOT/tests/integration/stall_watch.c" || return 1
	"$WORK/stall_watch" "$1" > "$WORK/stalls.txt" &
	STALL_WATCH=$!
}

# blocks_outside_stalls TRACE KINDS: the blocking events of KINDS (a JSON
# array: '["cpu","off_cpu"]') in a Chrome trace that overlap none of the
# stalls stall_watch noted.
blocks_outside_stalls() {
	local stalls
	stalls=$(awk '{ printf "%s[%s,%s]", (NR > 1 ? "," : ""), $1, $2 }' "$WORK/stalls.txt")
	jq --argjson stalls "[${stalls}]" --argjson kinds "$2" '
		([.traceEvents[] | select(.name=="hud_info")] | last | .args.start_ns) as $t0
		| [.traceEvents[] | select(.ph=="B" and ([.args.kind] | inside($kinds)))
		   | ($t0 + .args.start_ns) as $a | ($a + .args.dur_ns) as $b
		   | select([$stalls[] | select(.[0] < $b and $a < .[1])] | length == 0)] | length' "$1"
}

# hud_prog_count: BPF programs under hud's names that no process holds any
# more (orphans). Counting all of them would also count other hud instances
# running at the same time; a live hud holds its programs' fds, which
# /proc/PID/fdinfo lists with their prog_id.
hud_prog_count() {
	local ids held
	ids=$(bpftool prog show 2>/dev/null | awk '/ name hud_/ {sub(":", "", $1); print $1}' | sort -u)
	held=$(grep -h '^prog_id:' /proc/[0-9]*/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u)
	comm -23 <(printf '%s\n' $ids | sed '/^$/d') <(printf '%s\n' $held | sed '/^$/d') | wc -l
}

# hud_prog_count_settled N: hud_prog_count, once it is N or after 5 s. The
# kernel frees a detached tracepoint program after an RCU grace period, a
# moment after hud has exited.
hud_prog_count_settled() {
	local i n
	for i in $(seq 50); do
		n=$(hud_prog_count)
		[ "$n" = "$1" ] && break
		sleep 0.1
	done
	echo "$n"
}

# hud_map_count: the same for BPF maps (fdinfo lists map_id for map fds).
hud_map_count() {
	local ids held
	ids=$(bpftool map show 2>/dev/null | awk '/ name hud_/ {sub(":", "", $1); print $1}' | sort -u)
	held=$(grep -h '^map_id:' /proc/[0-9]*/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u)
	comm -23 <(printf '%s\n' $ids | sed '/^$/d') <(printf '%s\n' $held | sed '/^$/d') | wc -l
}
