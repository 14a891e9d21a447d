# profile_demo.sh — hud profiles the running demo app headless and the export
# names what a user needs: the CPU-bound culprit at its file:line, as a
# Chrome trace that follows the trace-event rules.
. "$(dirname "$0")/../lib.sh"

start_demo --scenario cpu,sleep,healthy || { not_ok "demo app starts"; finish; exit 1; }
trace=$WORK/trace.json
before=$(hud_prog_count)
oncpu() { for f in /proc/"$DEMO_PID"/task/*/schedstat; do t=${f%/schedstat}; echo "${t##*/} $(cut -d' ' -f1 "$f")"; done; }
oncpu > "$WORK/oncpu.before"
"$HUD" --pid "$DEMO_PID" --headless --duration 8 --export "$trace" > "$WORK/summary.txt" 2> "$WORK/stderr.txt"
rc=$?
oncpu > "$WORK/oncpu.after"
check "hud exits 0 after --duration" test $rc = 0
check "the export is valid JSON" jq -e . "$trace"
cpu_loc=$(culprit_line cpu compute_checksum)          # e.g. .../src/cpu.rs:45
cpu_file=${cpu_loc%%:*}; cpu_line=${cpu_loc##*:}
cpu_rel=src/${cpu_file##*/src/}

# The CPU-bound culprit, as a blocking event of kind cpu, at its file:line.
check "a cpu block names compute_checksum" jq -e \
	'[.traceEvents[] | select(.ph=="B" and .args.kind=="cpu" and (.name|test("compute_checksum$")))] | length > 0' "$trace"
check "its location is $cpu_rel:$cpu_line" jq -e --arg loc "$cpu_rel:$cpu_line" \
	'[.traceEvents[] | select(.ph=="B" and (.name|test("compute_checksum$"))) | .args.location | endswith($loc)] | any' "$trace"
check "its stack is innermost first and passes through handle_cpu_request" jq -e \
	'[.traceEvents[] | select(.ph=="B" and (.name|test("compute_checksum$"))) | .args.stack[0:4] | map(test("handle_cpu_request")) | any] | any' "$trace"
# std::thread::sleep's caller can be hidden by libc's frame-pointer-less leaf
# (see docs/TROUBLESHOOTING.md), so the handler that calls it also counts.
check "the sleeping handler is an off_cpu block" jq -e \
	'[.traceEvents[] | select(.ph=="B" and .args.kind=="off_cpu" and (.name | test("throttle_backend|handle_sleep_request")))] | length > 0' "$trace"
check "blocking events carry worker_id, duration_ms, kind, location, stack" jq -e \
	'[.traceEvents[] | select(.ph=="B") | (.args | has("worker_id") and has("duration_ms") and has("kind") and has("location") and has("stack"))] | all' "$trace"
check "the documented recipe counts B events" test "$(jq '[.traceEvents[] | select(.ph=="B")] | length' "$trace")" -gt 0

# Trace-event rules: every B has its E on the same thread, in order.
check "every B has a matching E on its thread" jq -e '
	[.traceEvents[] | select(.ph=="B" or .ph=="E")] | group_by(.tid)
	| map(reduce .[] as $e ({depth: 0, ok: true};
		if $e.ph == "B" then .depth += 1 else (if .depth < 1 then .ok = false else . end) | .depth -= 1 end)
		| .ok and .depth == 0) | all' "$trace"
check "worker threads have thread_name metadata" jq -e \
	'[.traceEvents[] | select(.ph=="M" and .name=="thread_name") | .args.name | test("^worker [0-9]+ ")] | length >= 4' "$trace"
check "CPU samples reference stack frames that exist" jq -e \
	'.stackFrames as $f | (.samples | length > 50) and ([.samples[] | $f[.sf] != null] | all)' "$trace"
check "stack frame parents resolve" jq -e \
	'.stackFrames as $f | [$f[] | select(.parent) | $f[.parent] != null] | all' "$trace"
check "otherData has version, target, pid, threshold and counts" jq -e --argjson pid "$DEMO_PID" \
	'.otherData | .hud_version and (.pid == $pid) and (.threshold_ms == 5) and (.target|test("hud-demo")) and has("samples") and has("lost_events") and has("blocking_events")' "$trace"
check "the summary names the culprit with file:line" grep -q "compute_checksum (.*$cpu_rel:$cpu_line)" "$WORK/summary.txt"
check "the summary lists the workers" grep -qE '^  [0-9]+ +[0-9]+ ' "$WORK/summary.txt"
# Each worker's cpu% is its time on CPU over the run, as the kernel counts it
# (the test's own reads of schedstat around the run, ~8 s).
cpu_off=$(awk -v dur=8 'FILENAME ~ /before/ { b[$1] = $2; next }
	FILENAME ~ /after/ { a[$1] = $2; next }
	/^Workers/ { w = 1; next }
	w && $1 ~ /^[0-9]+$/ && $3 ~ /%$/ { got = $3 + 0; want = (a[$2] - b[$2]) / dur / 1e7; d = got - want;
		if (d < 0) d = -d; if (d > 4) bad++; n++ }
	END { print (n >= 4 && !bad) ? "ok" : n " workers, " bad + 0 " off by more than 4 points" }' \
	"$WORK/oncpu.before" "$WORK/oncpu.after" "$WORK/summary.txt")
check "each worker's cpu% matches its time on CPU ($cpu_off)" test "$cpu_off" = ok
check "no hud program stays loaded" test "$(hud_prog_count_settled "$before")" = "$before"
check "no temporary file is left beside the export" test -z "$(ls -A "$WORK" | grep '\.hud-')"
finish
