# tui.sh — the live terminal UI, driven as a user would in tmux on the
# running demo app: the panels name the demo's CPU culprit at its file:line,
# the keys work (arrows, filter, drill-down, copy, resize), and however hud
# ends — q, Ctrl-C, SIGTERM, --duration, a crash — the terminal is left as
# it was: no alternate screen, cursor visible, cooked mode. Without a
# terminal, hud refuses and says to use --headless.
. "$(dirname "$0")/../lib.sh"

S=hud-tui-$$
cleanup() { tmux kill-session -t "$S" 2>/dev/null; stop_demos; }
trap cleanup EXIT

# ---- no terminal --------------------------------------------------------------
"$HUD" --pid $$ < /dev/null > "$WORK/notty.out" 2> "$WORK/notty.err"
rc=$?
check "without a TTY hud exits non-zero" test $rc != 0
check "without a TTY hud says to use --headless" grep -q "stdout is not a terminal; use --headless" "$WORK/notty.err"
check "without a TTY nothing is drawn" test ! -s "$WORK/notty.out"

if ! command -v tmux > /dev/null; then
	not_ok "tmux is installed (apt-get install tmux)"
	finish
	exit 1
fi

start_demo --scenario cpu,sleep,healthy || { not_ok "demo app starts"; finish; exit 1; }
before=$(hud_prog_count)
cpu_loc=$(culprit_line cpu compute_checksum)          # e.g. .../src/cpu.rs:45
cpu_file=${cpu_loc%%:*}; cpu_line=${cpu_loc##*:}
cpu_rel=src/${cpu_file##*/src/}

screen() { tmux capture-pane -t "$S" -p > "$WORK/screen.txt"; }
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
pane_flag() { tmux display -p -t "$S" "#{$1}"; }
# start_hud ARGS...: hud in a fresh 120x40 tmux session; when it ends the pane
# shows its exit code and the terminal's mode, then waits.
start_hud() {
	tmux kill-session -t "$S" 2>/dev/null
	tmux -u new-session -d -s "$S" -x 120 -y 40 \
		"env LANG=C.UTF-8 LC_ALL= NO_COLOR= '$HUD' $*; echo HUD-EXIT=\$?; stty -a | tr '\n' ' '; echo; sleep 600"
}
# restored WHAT: the pane is back on the normal screen, cursor on, cooked mode.
restored() {
	wait_screen "HUD-EXIT=" 40 || true
	check "$1: hud ended" grep -q "HUD-EXIT=" "$WORK/screen.txt"
	check "$1: the alternate screen is gone" test "$(pane_flag alternate_on)" = 0
	check "$1: the cursor is visible" test "$(pane_flag cursor_flag)" = 1
	check "$1: the terminal is in cooked mode (icanon echo)" \
		grep -qE '(^| )icanon .*(^| )echo ' "$WORK/screen.txt"
}

# ---- the panels -------------------------------------------------------------------
start_hud --pid "$DEMO_PID"
check "the UI opens with Hotspots, Workers and Timeline" wait_screen "Timeline"
check "the alternate screen is on" test "$(pane_flag alternate_on)" = 1
check "the cursor is hidden" test "$(pane_flag cursor_flag)" = 0
check "Hotspots names compute_checksum at $cpu_rel:$cpu_line" \
	wait_screen "compute_checksum +.*$cpu_rel:$cpu_line"
screen
check "the status names the demo and its pid" grep -qE "hud-demo pid $DEMO_PID" "$WORK/screen.txt"
check "the status shows health and counts" \
	grep -qE "(NORMAL|CAUTION|CRITICAL).*blocked" "$WORK/screen.txt"
check "the status shows samples, blocking events, lost events" \
	grep -qE "workers 4 +samples [0-9.k]+ +blocking events [0-9.k]+ +lost [0-9]+" "$WORK/screen.txt"
check "Workers lists four workers" test "$(panel Workers | grep -cE '^.[0-3] +[0-9]+ +[0-9]+% ')" = 4
check "Timeline has a lane per worker" test "$(panel Timeline | grep -cE '^ w[0-3] ')" = 4
check "the timeline has a time axis" grep -qE -- "-10s.*now" "$WORK/screen.txt"

# ---- keys -----------------------------------------------------------------------------
tmux send-keys -t "$S" Home; sleep 0.3
tmux send-keys -t "$S" Down; sleep 0.4; screen
check "Down moves the selection off the first row" test "$(sed -n 5p "$WORK/screen.txt" | cut -c1-3)" != "▶"
# (the selection follows its function, which a re-sort may move further down)
check "Down keeps one selected hotspot" test "$(panel Hotspots | grep -c '^▶')" = 1
tmux send-keys -t "$S" Home
check "Home selects the first row again" wait_screen "^▶" 8
check "Home selects the first row again (row 5)" test "$(sed -n 5p "$WORK/screen.txt" | cut -c1-3)" = "▶"

tmux send-keys -t "$S" / c o m p u t e _ c h e c k s u m
check "/ opens the filter prompt" wait_screen "filter: compute_checksum" 8
tmux send-keys -t "$S" Enter
check "the filter is applied" wait_screen 'filter "compute_checksum" \(1\)' 8
check "the filter keeps compute_checksum" sh -c "awk '/Hotspots/{on=1;next} /Workers/{on=0} on' '$WORK/screen.txt' | grep -q compute_checksum"
check "the filter drops throttle_backend" sh -c "! awk '/Hotspots/{on=1;next} /Workers/{on=0} on' '$WORK/screen.txt' | grep -q throttle_backend"

tmux send-keys -t "$S" Enter
check "Enter opens the call stacks of compute_checksum" wait_screen "Call stacks of .*compute_checksum" 8
check "the drill-down shows the culprit frame at $cpu_rel:$cpu_line" \
	grep -qE "\* +0 +.*compute_checksum +.*$cpu_rel:$cpu_line" "$WORK/screen.txt"
check "the stack goes through handle_cpu_request" grep -q "handle_cpu_request" "$WORK/screen.txt"
check "the drill-down shows per-worker counts" grep -qE "workers +w0: [0-9]+" "$WORK/screen.txt"
check "the drill-down shows counts by kind" grep -qE "cpu [0-9]+ \(" "$WORK/screen.txt"
check "the drill-down shows first and last seen" grep -qE "first [0-9:]+ +last [0-9:]+" "$WORK/screen.txt"
tmux send-keys -t "$S" y
check "y copies the stack with OSC 52" wait_screen "copied stack #1 .* OSC 52" 8
tmux send-keys -t "$S" Escape
check "Esc goes back to the panels" wait_screen "Hotspots .*filter" 8
tmux send-keys -t "$S" c
check "c clears the filter" wait_screen "throttle_backend|handle_sleep_request" 20

tmux send-keys -t "$S" '?'
check "? shows the keys" wait_screen "pause the display" 8
tmux send-keys -t "$S" x
check "any key closes the help" sh -c "sleep 0.5; tmux capture-pane -t '$S' -p | grep -q 'pause the display' && exit 1 || exit 0"
tmux send-keys -t "$S" p
check "p pauses the display" wait_screen "PAUSED" 8
tmux send-keys -t "$S" p
tmux send-keys -t "$S" Tab Down
check "Tab moves the focus to Workers" wait_screen "^▶1 " 8

# ---- resizing ---------------------------------------------------------------------------
tmux resize-window -t "$S" -x 80 -y 24
check "at 80x24 all panels still show" wait_screen "Timeline" 8
sleep 0.5; screen
check "at 80x24 the culprit still shows with its file" grep -qE "compute_checksum.*cpu.rs:$cpu_line" "$WORK/screen.txt"
check "at 80x24 the frame is 24 rows" test "$(wc -l < "$WORK/screen.txt")" -le 24
tmux resize-window -t "$S" -x 60 -y 20
check "below 80x24 it says how large the terminal must be" \
	wait_screen "terminal too small: need at least 80x24 \(now 60x20\)" 8
tmux resize-window -t "$S" -x 120 -y 40
check "growing again reflows to the panels" wait_screen "Workers" 8

# ---- ways out -----------------------------------------------------------------------------
tmux send-keys -t "$S" q
restored "q"
check "q: hud exits 0" grep -q "HUD-EXIT=0" "$WORK/screen.txt"
check "q: the summary is printed after the UI closed" grep -q "Top blocking culprits" "$WORK/screen.txt"

start_hud --pid "$DEMO_PID"
wait_screen "Timeline" > /dev/null
tmux send-keys -t "$S" C-c
restored "Ctrl-C"
check "Ctrl-C: hud exits 0" grep -q "HUD-EXIT=0" "$WORK/screen.txt"

start_hud --pid "$DEMO_PID"
wait_screen "Timeline" > /dev/null
kill -TERM "$(pgrep -P "$(pane_flag pane_pid)" -x hud)" 2>/dev/null
restored "SIGTERM"

start_hud --pid "$DEMO_PID" --duration 3
wait_screen "Timeline" > /dev/null
restored "--duration"
check "--duration: hud exits 0" grep -q "HUD-EXIT=0" "$WORK/screen.txt"

start_hud --pid "$DEMO_PID"
wait_screen "Timeline" > /dev/null
kill -SEGV "$(pgrep -P "$(pane_flag pane_pid)" -x hud)" 2>/dev/null
restored "SIGSEGV"
check "SIGSEGV: hud still dies of its signal" grep -q "HUD-EXIT=139" "$WORK/screen.txt"

tmux kill-session -t "$S" 2>/dev/null
sleep 0.5
check "no hud program stays loaded" test "$(hud_prog_count)" = "$before"
finish
