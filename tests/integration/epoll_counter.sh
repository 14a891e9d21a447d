# epoll_counter.sh — the epoll_wait counter costs every system call of the
# machine the syscall tracepoints' slower way in, so hud keeps it only where
# it tells polls apart: on a multi_thread runtime whose tick hud reads in
# every poll it is detached, and the export says why; on a current_thread
# runtime (no tick) it stays.
. "$(dirname "$0")/../lib.sh"

# session NAME HUD-OPTION DEMO-ARGS...: hud (with HUD-OPTION, "" for none) on
# the demo for 5 s, exporting to $WORK/NAME.json; the syscall tracepoints it
# holds 3 s in, in $WORK/NAME.held.
session() {
	local name=$1 opt=$2 hud
	shift 2
	# (start_demo waits for Tokio's worker threads, which a current_thread
	# runtime does not have.)
	"$DEMO" --quiet "$@" > "$WORK/demo.out" 2>&1 &
	DEMO_PID=$!
	DEMO_PIDS+=("$DEMO_PID")
	sleep 1
	"$HUD" --pid "$DEMO_PID" --headless --duration 5 $opt --export "$WORK/$name.json" > "$WORK/$name.txt" 2>&1 &
	hud=$!
	sleep 3
	bpftool perf list 2>/dev/null | grep "^pid $hud " | grep -c "sys_enter_epoll" > "$WORK/$name.held"
	wait "$hud"
	echo "# $name: hud held $(cat "$WORK/$name.held") syscall tracepoints 3 s in"
	stop_demos
}

session multi "" --scenario busy
check "multi_thread: the counter is detached once polls read the tick" test "$(cat "$WORK/multi.held")" = 0
check "multi_thread: otherData says the tick told polls apart" jq -e \
	'.otherData.scheduler_tick_read == true and .otherData.epoll_waits_counted == false' "$WORK/multi.json"
check "multi_thread: the last hud_info says so too (replayed the same)" jq -e \
	'[.traceEvents[] | select(.name=="hud_info")] | last | .args.tick_read == 1 and .args.epoll_counted == 0' \
	"$WORK/multi.json"
check "multi_thread: no note that epoll_wait calls were not counted" \
	sh -c "! grep -q 'epoll_wait calls were not counted' '$WORK/multi.txt'"
check "multi_thread: the yielding task's polls are no block" jq -e \
	'[.traceEvents[] | select(.ph=="B" and .args.kind=="cpu")] | length == 0' "$WORK/multi.json"
"$HUD" --replay "$WORK/multi.json" --headless > "$WORK/multi.replay.txt" 2>&1
check "multi_thread: the replay has no such note either" \
	sh -c "! grep -q 'epoll_wait calls were not counted' '$WORK/multi.replay.txt'"

session current "" --current-thread --scenario busy
check "current_thread: the counter stays (held $(cat "$WORK/current.held"))" test "$(cat "$WORK/current.held")" -gt 0
check "current_thread: otherData says the tick was not read and calls were counted" jq -e \
	'.otherData.scheduler_tick_read == false and .otherData.epoll_waits_counted == true' "$WORK/current.json"

# There a user who leaves the counter off (--no-epoll-count) is told, live
# and in a replay of the export, that polls of one task may merge.
session nocount --no-epoll-count --current-thread --scenario busy
check "--no-epoll-count: no syscall tracepoint held ($(cat "$WORK/nocount.held"))" test "$(cat "$WORK/nocount.held")" = 0
check "--no-epoll-count: the summary says epoll_wait calls were not counted" \
	grep -q "^note: epoll_wait calls were not counted" "$WORK/nocount.txt"
check "--no-epoll-count: so does the export" jq -e \
	'.otherData.epoll_waits_counted == false and .otherData.scheduler_tick_read == false' "$WORK/nocount.json"
"$HUD" --replay "$WORK/nocount.json" --headless > "$WORK/nocount.replay.txt" 2>&1
check "--no-epoll-count: and its replay" grep -q "^note: epoll_wait calls were not counted" "$WORK/nocount.replay.txt"
finish
