# tui.sh — the live terminal UI, driven as a user would in tmux on the
# running demo app: the panels name the demo's CPU culprit at its file:line,
# the keys work (arrows, filter, drill-down, copy, resize), and however hud
# ends — q, Ctrl-C, SIGTERM, --duration, a crash — the terminal is left as
# it was: no alternate screen, cursor visible, cooked mode. Without a
# terminal, hud refuses and says to use --headless.
. "$(dirname "$0")/../lib.sh"

# A tmux server of this test's own (other tests' sessions stay apart), kept
# alive by an idle session so a new session never races the server's exit.
S=hud
tm() { tmux -L "hud-tui-$$" "$@"; }
cleanup() { tm kill-server 2>/dev/null; stop_demos; }
trap cleanup EXIT

# ---- no terminal --------------------------------------------------------------
"$HUD" --pid $$ < /dev/null > "$WORK/notty.out" 2> "$WORK/notty.err"
rc=$?
check "without a TTY hud exits non-zero" test $rc != 0
check "without a TTY hud says to use --headless" grep -q "stdout is not a terminal; use --headless" "$WORK/notty.err"
check "without a TTY nothing is drawn" test ! -s "$WORK/notty.out"
# TERM=dumb takes no escape sequences: hud says to use --headless.
script -qec "env TERM=dumb '$HUD' --pid $$" /dev/null > "$WORK/dumb.out" 2>&1
check "TERM=dumb: hud says to use --headless" grep -q "TERM=dumb) cannot show the UI; use --headless" "$WORK/dumb.out"

if ! command -v tmux > /dev/null; then
	not_ok "tmux is installed (apt-get install tmux)"
	finish
	exit 1
fi

start_demo --scenario cpu,sleep,healthy || { not_ok "demo app starts"; finish; exit 1; }
tm new-session -d -s keepalive -x 80 -y 24 "sleep 3600"
before=$(hud_prog_count)
cpu_loc=$(culprit_line cpu compute_checksum)          # e.g. .../src/cpu.rs:45
cpu_file=${cpu_loc%%:*}; cpu_line=${cpu_loc##*:}
cpu_rel=src/${cpu_file##*/src/}

screen() { tm capture-pane -t "$S" -p > "$WORK/screen.txt"; }
# wait_screen REGEX [TRIES]: until the pane shows REGEX (4 tries a second).
wait_screen() {
	local i
	for i in $(seq "${2:-60}"); do
		screen
		grep -qE -- "$1" "$WORK/screen.txt" && return 0
		sleep 0.25
	done
	return 1
}
# The rows of one panel: from its heading to the next heading.
panel() { awk -v p="$1" '/^(─|-) /{on = index($0, p) > 0; next} on' "$WORK/screen.txt"; }
# wait_check WHAT REGEX [TRIES]: a check on the pane that shows the pane when it fails.
wait_check() {
	if wait_screen "$2" "${3:-60}"; then ok "$1"; else not_ok "$1"; sed 's/^/#   /' "$WORK/screen.txt"; fi
}
pane_flag() { tm display -p -t "$S" "#{$1}"; }
# start_hud ARGS...: hud in a fresh 120x40 tmux session; when it ends the pane
# shows its exit code and the terminal's mode, then waits.
start_hud() {
	tm kill-session -t "$S" 2>/dev/null
	tm -u new-session -d -s "$S" -x 120 -y 40 \
		"env LANG=C.UTF-8 LC_ALL= NO_COLOR= '$HUD' $*; echo HUD-EXIT=\$?; stty -a | tr '\n' ' '; echo; sleep 600"
}
# restored WHAT: the pane is back on the normal screen, cursor on, cooked mode.
restored() {
	wait_screen "HUD-EXIT=" 40 || true
	# stty prints its line just after: "icanon" or "-icanon", either way
	wait_screen "(^| )-?icanon " 20 || true
	check "$1: hud ended" grep -q "HUD-EXIT=" "$WORK/screen.txt"
	check "$1: the alternate screen is gone" test "$(pane_flag alternate_on)" = 0
	check "$1: the cursor is visible" test "$(pane_flag cursor_flag)" = 1
	check "$1: the terminal is in cooked mode (icanon echo)" \
		grep -qE '(^| )icanon .*(^| )echo ' "$WORK/screen.txt"
}

# ---- the panels -------------------------------------------------------------------
start_hud --pid "$DEMO_PID"
wait_check "the UI opens with Hotspots, Workers and Timeline" "Timeline"
check "the alternate screen is on" test "$(pane_flag alternate_on)" = 1
check "the cursor is hidden" test "$(pane_flag cursor_flag)" = 0
check "Hotspots names compute_checksum at $cpu_rel:$cpu_line" \
	wait_screen "compute_checksum +.*$cpu_rel:$cpu_line"
screen
check "the status names the demo and its pid" grep -qE "hud-demo pid $DEMO_PID" "$WORK/screen.txt"
check "the status shows health and counts" \
	grep -qE "(NORMAL|CAUTION|CRITICAL).*blocked" "$WORK/screen.txt"
wait_check "the status shows workers, samples, blocking events, lost events" \
	"workers [0-9]+ +samples [0-9.kM]+ +blocking events [0-9.kM]+ +lost [0-9.kM]+" 8
check "Workers lists four workers" test "$(panel Workers | grep -cE '^.[0-3] +[0-9]+ +[0-9]+% ')" = 4
# The demo's 40 ms checksum, once two samples have seen it. The panel
# shows it from the refresh after its second sample to the burst's end:
# 4-6% of captures (200 captures 0.1 s apart, twice), so 60 tries missed
# it about one run in twenty; 240 miss it about once in 10^5.
wait_check "Workers shows a worker blocked in compute_checksum at cpu.rs:$cpu_line (cpu) while it runs" \
	" blocked .*checksum \\(cpu\\.rs:$cpu_line\\) \\(cpu\\)" 240
check "Timeline has a lane per worker" test "$(panel Timeline | grep -cE '^ w[0-3] ')" = 4
check "the timeline has a time axis" grep -qE -- "-10s.*now" "$WORK/screen.txt"

# ---- keys -----------------------------------------------------------------------------
# Navigation on Workers, whose rows keep their order (Hotspots re-sort
# while the demo runs, and the selection follows its function). The first
# seconds may still sort threads into workers and the blocking pool.
sleep 2
tm send-keys -t "$S" Tab
wait_check "Tab moves the focus to Workers (first worker selected)" "^▶0 " 8
tm send-keys -t "$S" Down
wait_check "Down selects the next worker" "^▶1 " 8
tm send-keys -t "$S" j
wait_check "j selects the next worker" "^▶2 " 8
tm send-keys -t "$S" k
wait_check "k selects the previous worker" "^▶1 " 8
tm send-keys -t "$S" End
wait_check "End selects the last worker" "^▶3 " 8
tm send-keys -t "$S" Home
wait_check "Home selects the first worker" "^▶0 " 8
tm send-keys -t "$S" PgDn
wait_check "PgDn moves a page" "^▶3 " 8
tm send-keys -t "$S" Up
wait_check "Up selects the previous worker" "^▶2 " 8
tm send-keys -t "$S" Tab Home
check "Tab moves the focus back to Hotspots (Home leaves the worker selected)" \
	sh -c "sleep 0.5; tmux -L hud-tui-$$ capture-pane -t '$S' -p | grep -q '^▶2 '"
wait_check "Home selects the first hotspot" "^▶[^0-9]" 8

tm send-keys -t "$S" / c o m p u t e _ c h e c k s u m
wait_check "/ opens the filter prompt" "filter: compute_checksum" 8
tm send-keys -t "$S" Enter
wait_check "the filter is applied" 'filter "compute_checksum" \(1\)' 8
check "the filter keeps compute_checksum" sh -c "awk '/Hotspots/{on=1;next} /Workers/{on=0} on' '$WORK/screen.txt' | grep -q compute_checksum"
check "the filter drops throttle_backend" sh -c "! awk '/Hotspots/{on=1;next} /Workers/{on=0} on' '$WORK/screen.txt' | grep -q throttle_backend"

tm send-keys -t "$S" Enter
wait_check "Enter opens the call stacks of compute_checksum" "Call stacks of .*compute_checksum" 8
check "the drill-down shows the culprit frame at $cpu_rel:$cpu_line" \
	grep -qE "\* +0 +.*compute_checksum +.*$cpu_rel:$cpu_line" "$WORK/screen.txt"
check "the stack goes through handle_cpu_request" grep -q "handle_cpu_request" "$WORK/screen.txt"
check "the drill-down shows per-worker counts" grep -qE "workers +w0: [0-9]+" "$WORK/screen.txt"
check "the drill-down shows counts by kind" grep -qE "cpu [0-9]+ \(" "$WORK/screen.txt"
check "the drill-down shows first and last seen" grep -qE "first [0-9:]+ +last [0-9:]+" "$WORK/screen.txt"
tm set-option -g set-clipboard on
tm delete-buffer 2>/dev/null
tm send-keys -t "$S" y
wait_check "y copies the stack with OSC 52" "stack #1 .* OSC 52" 8
# tmux with set-clipboard on takes the plain sequence into its buffer.
check "... which reaches tmux's clipboard, with the culprit" sh -c "tmux -L hud-tui-$$ show-buffer | grep -q compute_checksum"
# The panels' keys do nothing inside the drill-down (they changed the
# hidden panels: grouping, sort, filter).
tm send-keys -t "$S" g s c /
sleep 0.5
tm send-keys -t "$S" Escape
wait_check "Esc goes back to the panels" "Hotspots .*filter" 8
check "g, s, c and / in the drill-down left the panels as they were" \
	sh -c "grep -E 'Hotspots . by blocking time .*filter \"compute_checksum\"' '$WORK/screen.txt' | grep -qv grouped"
tm send-keys -t "$S" c
wait_check "c clears the filter" "Hotspots . by blocking time ─" 8
check "with no filter, more than one function shows" test "$(panel Hotspots | grep -cE '^.[^ ]')" -gt 2

tm send-keys -t "$S" '?'
wait_check "? shows the keys" "pause the display" 8
tm send-keys -t "$S" x
sleep 0.5; screen
check "any key closes the help" sh -c "! grep -q 'pause the display' '$WORK/screen.txt'"
tm send-keys -t "$S" p
wait_check "p pauses the display" "PAUSED" 8
tm send-keys -t "$S" p

# ---- resizing ---------------------------------------------------------------------------
tm resize-window -t "$S" -x 80 -y 24
wait_check "at 80x24 all panels still show" "Timeline" 8
sleep 0.5; screen
check "at 80x24 the culprit still shows with its file" grep -qE "compute_checksum.*cpu.rs:$cpu_line" "$WORK/screen.txt"
check "at 80x24 the frame is 24 rows" test "$(wc -l < "$WORK/screen.txt")" -le 24
tm resize-window -t "$S" -x 60 -y 20
check "below 80x24 it says how large the terminal must be" \
	wait_screen "terminal too small: need at least 80x24 \(now 60x20\)" 8
tm resize-window -t "$S" -x 120 -y 40
wait_check "growing again reflows to the panels" "Workers" 8

# ---- busy workers are running, not blocked ---------------------------------------------------
# Four workers on two CPUs never park, each polling eight tasks of ~1 ms
# back to back: no poll comes near the threshold. A sample says where a
# worker was, not for how long, so the Workers panel must not call a worker
# blocked (cpu) on one sample 5 ms old (it did, in half the captures); and
# a worker preempted in the middle of its work is running, not idle (it
# showed idle in most captures). A wait for a CPU past the threshold is a
# real sched_delay, which this machine's two CPUs make now and then.
tm send-keys -t "$S" q
wait_screen "HUD-EXIT=" 40 > /dev/null
"$DEMO" --quiet --scenario busy --busy-tasks 8 --workers 4 --duration 30 > /dev/null 2>&1 &
busy=$!
sleep 1
start_hud --pid "$busy"
wait_screen "Timeline" > /dev/null
sleep 2
cpu_caps=0 idle_caps=0 running_caps=0
for _ in $(seq 40); do
	screen
	panel Workers | grep -q ' blocked .*(cpu)' && cpu_caps=$((cpu_caps + 1))
	panel Workers | grep -q ' idle ' && idle_caps=$((idle_caps + 1))
	panel Workers | grep -q ' running ' && running_caps=$((running_caps + 1))
	sleep 0.25
done
check "busy workers: at most 2 of 40 captures show a worker blocked (cpu) ($cpu_caps)" test "$cpu_caps" -le 2
check "busy workers: at most 2 of 40 captures show a worker idle ($idle_caps)" test "$idle_caps" -le 2
check "busy workers: most captures show a worker running ($running_caps of 40)" test "$running_caps" -ge 20
kill "$busy" 2>/dev/null
wait "$busy" 2>/dev/null

# ---- keys in one burst (typed fast, pasted, sent by a script) act in order ------------------
# On a replayed trace, whose rows stay put: j then Enter in one write opens
# the second row, not the first.
"$HUD" --pid "$DEMO_PID" --headless --duration 3 --export "$WORK/burst.json" > /dev/null 2>&1
start_hud --replay "$WORK/burst.json"
wait_screen "Timeline" > /dev/null
screen
# Nothing goes on in a replay: no pause key, and the states are the end's.
check "a replay offers no pause key" sh -c "! grep -q 'p pause' '$WORK/screen.txt'"
check "a replay's workers show their state at the end" grep -q "BLOCKED IN (AT END)" "$WORK/screen.txt"
tm send-keys -t "$S" p
sleep 0.5; screen
check "p does not pause a replay" sh -c "! grep -q PAUSED '$WORK/screen.txt'"
second=$(awk '/ FUNCTION /{getline; getline; print; exit}' "$WORK/screen.txt" | awk '{print $1}')
second=${second#…}
tm send-keys -t "$S" j Enter
wait_screen "Call stacks of" > /dev/null
check "j then Enter in one burst opens the second row (${second:-none})" \
	grep -q "Call stacks of .*${second:-no-second-row}" "$WORK/screen.txt"
# A stack longer than the screen: the sleep's off-CPU stack goes on to the
# thread's start (~50 frames, the pane shows ~30). j and PgDn scroll through
# it to its outermost frame, k and PgUp back to its header.
tm send-keys -t "$S" Escape / t h r o t t l e _ b a c k e n d Enter Enter
wait_screen "Call stacks of .*throttle_backend" > /dev/null
deep=$(grep -oE '#1 .* ([0-9]+) frames' "$WORK/screen.txt" | grep -oE '[0-9]+ frames' | grep -oE '[0-9]+')
last=$(( ${deep:-1} - 1 ))
check "the sleep's stack is longer than the pane (${deep:-?} frames)" test "${deep:-0}" -gt 34
check "its outermost frame ($last) is not shown at first" sh -c "! grep -qE '^ +\*? *$last  ' '$WORK/screen.txt'"
tm send-keys -t "$S" PgDn j j
wait_check "PgDn and j scroll to the stack's outermost frame ($last)" "^ +\\*? *$last  " 12
tm send-keys -t "$S" PgUp PgUp k
wait_check "PgUp and k scroll back to the stack's header" "▶ #1 " 12
tm send-keys -t "$S" q
restored "q after replay"
check "q after replay: the replayed run's summary is printed, as after a live run" \
	sh -c "tmux -L hud-tui-$$ capture-pane -t '$S' -p -S -500 | grep -q 'Top blocking culprits'"

# ---- ways out -----------------------------------------------------------------------------
start_hud --pid "$DEMO_PID"
wait_screen "Timeline" > /dev/null
tm send-keys -t "$S" q
restored "q"
check "q: hud exits 0" grep -q "HUD-EXIT=0" "$WORK/screen.txt"
# (with the scrollback: a long summary scrolls past the pane's 40 rows)
check "q: the summary is printed after the UI closed" sh -c "tmux -L hud-tui-$$ capture-pane -t '$S' -p -S -500 | grep -q 'Top blocking culprits'"

start_hud --pid "$DEMO_PID"
wait_screen "Timeline" > /dev/null
tm send-keys -t "$S" C-c
restored "Ctrl-C"
check "Ctrl-C: hud exits 0" grep -q "HUD-EXIT=0" "$WORK/screen.txt"

# SIGTERM (systemd, kill) and SIGHUP (the terminal closing) end the
# session as Ctrl-C does: the summary and a complete export, exit 0.
rm -f "$WORK/tui-term.json"
start_hud --pid "$DEMO_PID" --export "$WORK/tui-term.json"
wait_screen "Timeline" > /dev/null
kill -TERM "$(pgrep -P "$(pane_flag pane_pid)" -x hud)" 2>/dev/null
restored "SIGTERM"
check "SIGTERM: hud exits 0" grep -q "HUD-EXIT=0" "$WORK/screen.txt"
check "SIGTERM: the summary is printed" sh -c "tmux -L hud-tui-$$ capture-pane -t '$S' -p -S -500 | grep -q 'Top blocking culprits'"
check "SIGTERM: the export is written whole" jq -e '.otherData.workers >= 1' "$WORK/tui-term.json"

start_hud --pid "$DEMO_PID" --duration 3
wait_screen "Timeline" > /dev/null
restored "--duration"
check "--duration: hud exits 0" grep -q "HUD-EXIT=0" "$WORK/screen.txt"

"$DEMO" --quiet --scenario cpu --duration 4 > /dev/null 2>&1 &
short=$!
sleep 1
start_hud --pid "$short"
wait_screen "Timeline" > /dev/null
restored "the target exiting"
check "the target exiting: hud exits 0" grep -q "HUD-EXIT=0" "$WORK/screen.txt"
wait $short 2>/dev/null

start_hud --pid "$DEMO_PID"
wait_screen "Timeline" > /dev/null
kill -SEGV "$(pgrep -P "$(pane_flag pane_pid)" -x hud)" 2>/dev/null
restored "SIGSEGV"
check "SIGSEGV: hud still dies of its signal" grep -q "HUD-EXIT=139" "$WORK/screen.txt"

tm kill-session -t "$S" 2>/dev/null
# The kernel frees a dead process's programs a moment after its files close.
check "no hud program stays loaded" test "$(hud_prog_count_settled "$before")" = "$before"
finish
