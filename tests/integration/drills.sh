# drills.sh — failure drills: whatever goes wrong around hud (the target
# exits, a signal at any moment, SIGKILL, a full ring buffer, a full disk,
# no tracefs, too little privilege, a pid that vanishes, a second hud), it
# ends with a clear sentence or a complete export, and leaves nothing in
# the kernel.
. "$(dirname "$0")/../lib.sh"

progs_before=$(hud_prog_count)
maps_before=$(hud_map_count)

# wait_exec PID: until PID runs hud itself (past fork and exec).
wait_exec() {
	for _ in $(seq 200); do
		[ "$(readlink /proc/"$1"/exe 2>/dev/null)" = "$(readlink -f "$HUD")" ] && return 0
		sleep 0.01
	done
	return 1
}
# wait_attached FILE: until hud says it is profiling.
wait_attached() {
	for _ in $(seq 100); do grep -q "profiling pid" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
# no_orphans WHAT: hud's kernel objects are back to what they were (maps go
# away shortly after their last fd, so give the kernel a moment).
no_orphans() {
	for _ in $(seq 50); do
		[ "$(hud_prog_count)" = "$progs_before" ] && [ "$(hud_map_count)" = "$maps_before" ] && break
		sleep 0.1
	done
	check "$1: no BPF program left behind" test "$(hud_prog_count)" = "$progs_before"
	check "$1: no BPF map left behind" test "$(hud_map_count)" = "$maps_before"
}

start_demo --scenario cpu,sleep || { not_ok "demo app starts"; finish; exit 1; }

# ---- The target exits mid-session -------------------------------------------
start_demo --scenario cpu --duration 3 || not_ok "short demo starts"
short=$DEMO_PID
"$HUD" --pid "$short" --headless --export "$WORK/exit.json" > "$WORK/exit.txt" 2> "$WORK/exit.err"
rc=$?
check "target exits: hud exits 0" test $rc = 0
check "target exits: the summary says so" grep -q "^stopped: target exited" "$WORK/exit.txt"
check "target exits: the export is complete and says so" jq -e '.otherData.stop_reason == "target exited"' "$WORK/exit.json"
DEMO_PID=${DEMO_PIDS[0]}

# ---- SIGINT, SIGTERM, SIGHUP right after start, while attaching, mid-run --------
# env --default-signal: a background job of a script would otherwise
# inherit SIGINT ignored.
for sig in INT TERM HUP; do
	for when in exec 0.3 2; do
		out=$WORK/sig-$sig-$when
		env --default-signal=INT "$HUD" --pid "$DEMO_PID" --headless --duration 30 --export "$out.json" \
			> "$out.txt" 2> "$out.err" &
		hud=$!
		wait_exec $hud
		[ "$when" = exec ] || sleep "$when"
		kill -$sig $hud
		wait $hud
		rc=$?
		check "SIG$sig at $when: hud exits 0" test $rc = 0
		check "SIG$sig at $when: the export is complete" jq -e '.otherData.stop_reason | test("^signal")' "$out.json"
		check "SIG$sig at $when: no temporary file left" test -z "$(ls "$WORK" | grep hud-tmp)"
	done
done
no_orphans "signals"

# ---- SIGKILL of hud: the kernel drops everything with hud's fds ---------------
"$HUD" --pid "$DEMO_PID" --headless --export "$WORK/killed.json" > "$WORK/killed.txt" 2> "$WORK/killed.err" &
hud=$!
wait_attached "$WORK/killed.err" || not_ok "SIGKILL: hud attaches"
check "SIGKILL: while running, hud holds its programs" test "$(bpftool perf list 2>/dev/null | grep -c "pid $hud ")" -gt 0
kill -KILL $hud
wait $hud 2>/dev/null
no_orphans "SIGKILL"
check "SIGKILL: no perf event of hud left attached" test "$(bpftool perf list 2>/dev/null | grep -c "pid $hud ")" = 0

# ---- The ring buffer overflows: lost events counted and shown --------------------
start_demo --scenario cpu --workers 4 || not_ok "busy demo starts"
"$HUD" --pid "$DEMO_PID" --headless --duration 3 --freq 10000 --ringbuf-kb 4 --export "$WORK/lost.json" \
	> "$WORK/lost.txt" 2> "$WORK/lost.err"
rc=$?
lost=$(grep -o 'lost events [0-9]*' "$WORK/lost.txt" | grep -o '[0-9]*$')
check "overflow: hud exits 0" test $rc = 0
check "overflow: the summary shows lost events (${lost:-none})" test "${lost:-0}" -gt 0
check "overflow: the export counts the same lost events" jq -e ".otherData.lost_events == ${lost:-0}" "$WORK/lost.json"
check "overflow: the summary's note says to raise --ringbuf-kb" grep -q "^note: ${lost:-0} events were lost.*--ringbuf-kb" "$WORK/lost.txt"
kill "$DEMO_PID"; DEMO_PID=${DEMO_PIDS[0]}
check "--ringbuf-kb refuses a size that is not a power of two" \
	bash -c "'$HUD' --pid $DEMO_PID --headless --ringbuf-kb 6 2>&1 | grep -q 'power of two'"
# The ring hud makes by default is the size --help says: 1024 KiB, or a
# second of samples (~800 bytes) from every CPU at 99 Hz when that is more.
"$HUD" --pid "$DEMO_PID" --headless --duration 4 > /dev/null 2> "$WORK/ring.err" &
hud=$!
wait_attached "$WORK/ring.err" || not_ok "default ring: hud attaches"
# The records' rings: hud's array map (map_type 2) of the largest values,
# a power of two of slots for each possible CPU, together as many bytes as
# fit the size --help gives.
ring=$(for f in $(grep -l '^map_type:[[:space:]]*2$' /proc/$hud/fdinfo/* 2>/dev/null); do
	awk '/^value_size:/ { v = $2 } /^max_entries:/ { n = $2 } END { print v, n }' "$f"; done |
	sort -n | tail -1)
possible=$(awk -F- '{ print $NF + 1 }' /sys/devices/system/cpu/possible)
slot=${ring% *}; slots=$(( ${ring#* } / possible ))
want=$((1 << 20)); while [ $want -lt $((99 * $(nproc) * 800)) ]; do want=$((want * 2)); done
helped=$("$HUD" --help 2>&1 | grep -o '(default [0-9]*, more at a high --freq' | grep -o '[0-9]*')
check "default rings: $slots slots of $slot bytes for each of $possible CPUs, in the $want bytes --help says (${helped:-?} KiB at 99 Hz on $(nproc) CPUs)" \
	test $((slots & (slots - 1))) = 0 -a $((slots * slot * possible)) -le $want -a $((2 * slots * slot * possible)) -gt $want \
	-a $(( ${helped:-0} * 1024 )) = $((1 << 20))
check "overflow: the lost-events note names no default ring size but --help's (${helped:-?} KiB)" \
	sh -c "! grep -oE 'default [0-9]+' '$WORK/lost.txt' | grep -vq 'default ${helped:-none}\$'"
wait $hud

# ---- The disk fills while exporting: clear error, the previous file intact ------
mkdir -p "$WORK/full"
unshare -m --propagation private bash -c '
	mount -t tmpfs -o size=256k tmpfs "$1" || exit 3
	echo previous > "$1/t.json"
	dd if=/dev/zero of="$1/fill" bs=4k count=40 2>/dev/null
	"$2" --pid "$3" --headless --duration 3 --freq 999 --export "$1/t.json" > "$1.out" 2> "$1.err"
	echo "rc=$?" >> "$1.err"
	cat "$1/t.json" > "$1.after"
	ls "$1" > "$1.ls"' _ "$WORK/full" "$HUD" "$DEMO_PID"
check "disk full: hud exits non-zero" grep -q "^rc=1" "$WORK/full.err"
check "disk full: says the disk is full" grep -q "No space left on device (is the disk full?)" "$WORK/full.err"
check "disk full: the previous file is intact" test "$(cat "$WORK/full.after")" = previous
check "disk full: no temporary file left" test "$(tr '\n' ' ' < "$WORK/full.ls")" = "fill t.json "

# ---- tracefs not mounted: hud profiles anyway and leaves none mounted ------------
# The scheduler's tracepoints are BTF-typed (no tracefs); the epoll_wait
# counter's syscall tracepoints are found in tracefs, which hud mounts for
# the moment and unmounts again.
host_tracefs=$(grep -c tracefs /proc/self/mountinfo)
unshare -m --propagation private bash -c '
	umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null
	grep -c tracefs /proc/self/mountinfo > "$1.before"
	"$2" --pid "$3" --headless --duration 2 > "$1.out" 2> "$1.err"; echo "rc=$?" >> "$1.err"
	"$2" --check-kernel > "$1.check" 2>&1
	grep -c tracefs /proc/self/mountinfo > "$1.after"' _ "$WORK/notracefs" "$HUD" "$DEMO_PID"
check "no tracefs: hud profiles anyway" grep -q "^rc=0" "$WORK/notracefs.err"
check "no tracefs: the epoll_wait calls are counted all the same" grep -q "epoll_wait calls counted" "$WORK/notracefs.check"
check "no tracefs: hud left none mounted" test "$(cat "$WORK/notracefs.after")" = 0
check "no tracefs: the host's mounts are unchanged" test "$(grep -c tracefs /proc/self/mountinfo)" = "$host_tracefs"

# ---- Too little privilege: the message names what is missing ---------------------
cp "$HUD" "$WORK/hud-copy" && chmod 755 "$WORK" "$WORK/hud-copy"
nobody() { # CAPS ARGS...: hud as nobody, with these capabilities
	local caps=$1; shift
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="-all${caps:+,$caps}" \
		${caps:+--ambient-caps="$caps"} "$WORK/hud-copy" "$@"
}
nobody "" --pid "$DEMO_PID" --headless --duration 1 > /dev/null 2> "$WORK/nocaps.err"
check "no capabilities: names CAP_BPF+CAP_PERFMON and sudo" grep -q "needs root or CAP_BPF+CAP_PERFMON.*sudo" "$WORK/nocaps.err"
nobody "+bpf,+perfmon" --pid "$DEMO_PID" --headless --duration 1 > /dev/null 2> "$WORK/bpfcaps.err"
check "CAP_BPF+CAP_PERFMON only: one sentence naming the missing privilege" \
	grep -Eq "needs CAP_SYS_ADMIN|CAP_DAC_OVERRIDE|perf_event_paranoid|CAP_SYS_PTRACE" "$WORK/bpfcaps.err"
check "... and nothing else" test "$(wc -l < "$WORK/bpfcaps.err")" = 1
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
check "perf_event_paranoid=$paranoid: root is not affected" "$HUD" --pid "$DEMO_PID" --headless --duration 1

# ---- A pid that exits between discovery and attach -------------------------------
for life in 0.05 0.3 0.8; do
	sleep "$life" & gone=$!
	"$HUD" --pid $gone --headless --workers sleep --export "$WORK/gone.json" > "$WORK/gone.txt" 2> "$WORK/gone.err"
	rc=$?
	wait $gone 2>/dev/null
	if [ $rc = 0 ]; then
		check "pid gone after ${life}s: attached, then says the target exited" grep -q "^stopped: target exited" "$WORK/gone.txt"
	else
		check "pid gone after ${life}s: says the process exited, in one line" \
			bash -c "grep -Eq 'exited before hud could attach|no process with pid' '$WORK/gone.err' && [ \$(wc -l < '$WORK/gone.err') = 1 ]"
	fi
done
no_orphans "vanishing pid"

# ---- Two hud instances on one target --------------------------------------------
"$HUD" --pid "$DEMO_PID" --headless --duration 4 --export "$WORK/one.json" > "$WORK/one.txt" 2>&1 &
a=$!
"$HUD" --pid "$DEMO_PID" --headless --duration 4 --export "$WORK/two.json" > "$WORK/two.txt" 2>&1 &
b=$!
wait $a; ra=$?
wait $b; rb=$?
check "two huds: both exit 0" test "$ra$rb" = 00
for f in one two; do
	check "two huds: export $f is complete, with the cpu culprit" jq -e \
		'.otherData.stop_reason == "duration reached" and ([.traceEvents[] | select(.ph=="B" and (.name|test("compute_checksum$")))] | length > 0)' \
		"$WORK/$f.json"
done
stop_demos
no_orphans "two huds"
finish
