# exports.sh — several exports from one run on the demo app (Chrome JSON
# with a strftime name, collapsed stacks, pprof), replay of the JSON (same
# summary as the live run), replay of a SIGKILLed run's file, bad files
# refused in one sentence, and --diff's verdicts and exit codes.
. "$(dirname "$0")/../lib.sh"

# hud_refuses "what" FILE: --replay FILE --headless fails with one line on stderr.
hud_refuses() {
	local what=$1 file=$2
	"$HUD" --replay "$file" --headless > "$WORK/out.txt" 2> "$WORK/err.txt"
	local rc=$?
	if [ $rc != 0 ] && [ "$(wc -l < "$WORK/err.txt")" = 1 ] && grep -q '^hud: ' "$WORK/err.txt" &&
	   ! grep -qP '\x1b' "$WORK/err.txt"; then
		ok "$what: refused in one sentence"
	else
		not_ok "$what (exit $rc: $(head -c 300 "$WORK/err.txt"))"
	fi
}

start_demo --scenario cpu,sleep,healthy || { not_ok "demo app starts"; finish; exit 1; }
# A link planted at a destination is replaced, never written through.
echo precious > "$WORK/victim"
ln -sf "$WORK/victim" "$WORK/t.folded"
SUDO_UID=65534 SUDO_GID=65534 "$HUD" --pid "$DEMO_PID" --headless --duration 6 --window 5 \
	--export "$WORK/t-%Y%m%d.json" --export "$WORK/t.folded" --export "$WORK/t.pb.gz" \
	> "$WORK/live.txt" 2> "$WORK/live.err"
rc=$?
check "hud exits 0 with three exports" test $rc = 0
trace=$WORK/t-$(date +%Y%m%d).json
check "the strftime name was filled in" test -s "$trace"
check "each export is announced" test "$(grep -c '^hud: wrote' "$WORK/live.err")" = 3
check "under sudo the files belong to SUDO_UID" test "$(stat -c %u:%g "$trace" "$WORK/t.pb.gz" | sort -u)" = "65534:65534"
check "the planted link was replaced by a file" test -f "$WORK/t.folded" -a ! -L "$WORK/t.folded"
check "... and its target is untouched" grep -qx precious "$WORK/victim"
check "no temporary file is left" test -z "$(ls -A "$WORK" | grep '\.hud-')"

# ---- Chrome JSON: the trace-event rules --------------------------------------
check "the trace is valid JSON" jq -e . "$trace"
check "every B has its E on the same thread, in order" jq -e '
	[.traceEvents[] | select(.ph=="B" or .ph=="E")] | group_by(.tid)
	| map(reduce .[] as $e ({depth: 0, ok: true};
		if $e.ph == "B" then .depth += 1 else (if .depth < 1 then .ok = false else . end) | .depth -= 1 end)
		| .ok and .depth == 0) | all' "$trace"
check "every E ends after its B" jq -e '
	[.traceEvents[] | select(.ph=="B" or .ph=="E")] | group_by(.tid)
	| map([range(0; length; 2) as $i | .[$i:$i+2] | .[1].ts >= .[0].ts] | all) | all' "$trace"
check "stack frame ids resolve (events, samples, parents)" jq -e '.stackFrames as $f |
	([.traceEvents[] | select(.sf) | $f[.sf] != null] | all) and ([.samples[] | $f[.sf] != null] | all)
	and ([$f[] | select(.parent) | $f[.parent] != null] | all)' "$trace"
check "the model is in the stream: hud_info first, hud_end last" jq -e '
	[.traceEvents[] | select(.ph=="M" and (.name // "" | startswith("hud_"))) | .name] | (.[0] == "hud_info") and (.[-1] == "hud_end")' "$trace"

# ---- folded: one line per stack, counts from the JSON's worker samples --------
# The JSON's samples of worker threads, as folded lines (outermost first).
jq -r '.stackFrames as $f
	| ([.traceEvents[] | select(.ph=="M" and .name=="hud_worker") | .tid]) as $workers
	| def chain($id): if $id == null then [] else chain($f[$id].parent) + [$f[$id].name | gsub(";"; ",")] end;
	  [.samples[] | select(.tid as $t | $workers | index($t)) | chain(.sf) | join(";")]
	| group_by(.) | map("\(.[0]) \(length)") | .[]' "$trace" | sort > "$WORK/from-json.folded"
sort "$WORK/t.folded" > "$WORK/sorted.folded"
check "folded: one line per distinct stack" test "$(sed 's/ [0-9]*$//' "$WORK/t.folded" | sort | uniq -d | wc -l)" = 0
check "folded: total equals the worker samples" test "$(awk '{s += $NF} END {print s}' "$WORK/t.folded")" = \
	"$(jq '.otherData.worker_samples' "$trace")"
if [ "$(jq '[.traceEvents[] | select(.name=="hud_worker_gone")] | length' "$trace")" = 0 ]; then
	check "folded: every line matches the JSON samples" diff "$WORK/from-json.folded" "$WORK/sorted.folded"
else
	check "folded: every stack is among the JSON samples" test -z "$(comm -13 <(sed 's/ [0-9]*$//' "$WORK/from-json.folded") \
		<(sed 's/ [0-9]*$//' "$WORK/sorted.folded"))"
fi
check "folded: the culprit's stack is there" grep -q 'compute_checksum [0-9]*$' "$WORK/t.folded"

# ---- pprof: go tool pprof reads it ---------------------------------------------------
if ! command -v go > /dev/null && [ "$(id -u)" = 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go > /dev/null 2>&1
fi
if command -v go > /dev/null; then
	go tool pprof -top "$WORK/t.pb.gz" > "$WORK/pprof.txt" 2>&1
	check "pprof: go tool pprof -top reads it" grep -q '^Type: blocking' "$WORK/pprof.txt"
	check "pprof: names the culprit" grep -q 'compute_checksum' "$WORK/pprof.txt"
	go tool pprof -sample_index=samples -top "$WORK/t.pb.gz" > "$WORK/pprof2.txt" 2>&1
	check "pprof: the CPU sample count matches" grep -q "Total samples = $(jq '.otherData.worker_samples' "$trace") *$" "$WORK/pprof2.txt"
else
	echo "# skipped: go tool pprof (golang-go cannot be installed here)"
fi

# ---- replay ---------------------------------------------------------------------------
"$HUD" --replay "$trace" --headless > "$WORK/replay.txt" 2> "$WORK/replay.err"
check "replay exits 0 without root or target" test $? = 0
check "replay prints the live run's summary" diff "$WORK/live.txt" "$WORK/replay.txt"
"$HUD" --replay "$trace" --headless --window 2 > /dev/null 2>&1
check "--window applies to replay" test $? = 0
"$HUD" --replay "$trace" --export "$WORK/again.folded" --headless > /dev/null 2>&1
check "replay converts to another format" cmp "$WORK/again.folded" "$WORK/t.folded"
"$HUD" --replay "$trace" < /dev/null > "$WORK/notty.txt" 2>&1
check "replay without a terminal asks for --headless" grep -q -- '--headless' "$WORK/notty.txt"

# ---- a SIGKILLed run ------------------------------------------------------------------
"$HUD" --pid "$DEMO_PID" --headless --export "$WORK/killed.json" > /dev/null 2>&1 &
hud=$!
sleep 5
kill -KILL $hud
wait $hud 2>/dev/null
left=$(ls "$WORK"/.killed.json.hud-tmp.* 2>/dev/null | head -n 1)
check "SIGKILL leaves the temporary file, not killed.json" test -n "$left" -a ! -e "$WORK/killed.json"
"$HUD" --replay "$WORK/killed.json" --headless > /dev/null 2> "$WORK/err.txt"
check "replaying the missing name points at the leftover" grep -q 'hud-tmp' "$WORK/err.txt"
"$HUD" --replay "$left" --headless > "$WORK/killed.txt" 2> "$WORK/killed.err"
check "the cut-short file replays" test $? = 0
check "... says it was cut short" grep -q 'cut short' "$WORK/killed.err"
check "... with the blocking it recorded" grep -q 'compute_checksum' "$WORK/killed.txt"
rm -f "$left"
stop_demos

# ---- bad files --------------------------------------------------------------------------
printf 'hello, world\n' > "$WORK/b1.json";                 hud_refuses "not JSON" "$WORK/b1.json"
echo '{"traceEvents":[{"ph":"B","pid":1,"tid":1,"ts":0,"name":"x"}]}' > "$WORK/b2.json"
hud_refuses "not a hud trace" "$WORK/b2.json"
head -c 40 "$trace" > "$WORK/b3.json";                     hud_refuses "ends before its first hud event" "$WORK/b3.json"
jq -c '.traceEvents |= map(if .name=="hud_stack" then .args.frames = "x" else . end)' "$trace" > "$WORK/b4.json"
hud_refuses "wrong types" "$WORK/b4.json"
jq -c '.traceEvents |= map(if .ph=="B" then .args.dur_ns = 1e300 else . end)' "$trace" > "$WORK/b5.json"
hud_refuses "absurd numbers" "$WORK/b5.json"
python3 -c 'print("{\"traceEvents\":[{\"ph\":\"M\",\"name\":\"" + "a" * 300000 + "\"}]}")' > "$WORK/b6.json"
hud_refuses "huge strings" "$WORK/b6.json"
python3 -c 'print("{\"traceEvents\":[{\"a\":" + "[" * 100000 + "]" * 100000 + "}]}")' > "$WORK/b7.json"
hud_refuses "deep nesting" "$WORK/b7.json"
: > "$WORK/b8.json";                                         hud_refuses "an empty file" "$WORK/b8.json"
hud_refuses "a missing file" "$WORK/none.json"
# Control characters in names load, and reach the terminal escaped.
jq -c '.traceEvents |= map(if .name=="hud_frame" then .args.function = "\u001b[2J\u001b]0;owned\u0007" + .args.function
	else . end)' "$trace" > "$WORK/b9.json"
"$HUD" --replay "$WORK/b9.json" --headless > "$WORK/out.txt" 2>&1
check "control characters in names: it loads" test $? = 0
check "... and prints them escaped" sh -c "grep -q 'x1b\[2J' '$WORK/out.txt' && ! grep -qP '[\x00-\x08\x0b-\x1f\x7f]' '$WORK/out.txt'"

# ---- --diff -----------------------------------------------------------------------------
"$HUD" --diff "$trace" "$trace" > "$WORK/diff.txt" 2>&1
check "--diff of a run with itself: exit 0" test $? = 0
jq -c '.traceEvents |= map(if .ph=="B" then .args.dur_ns *= 2 else . end)' "$trace" > "$WORK/slower.json"
"$HUD" --diff "$trace" "$WORK/slower.json" > "$WORK/diff.txt" 2>&1
check "--diff: twice the blocking time is a regression (exit 1)" test $? = 1
check "... and says so" grep -q 'REGRESSION (more blocking)' "$WORK/diff.txt"
"$HUD" --diff "$trace" "$WORK/slower.json" --tolerance 150 > /dev/null 2>&1
check "--diff: within --tolerance 150 it passes" test $? = 0
jq -c '.traceEvents |= map(select(.ph != "B" or (.name|test("compute_checksum")|not)))' "$trace" > "$WORK/without.json"
"$HUD" --diff "$WORK/without.json" "$trace" --tolerance 1000000 > "$WORK/diff.txt" 2>&1
check "--diff: a new culprit is a regression (exit 1)" test $? = 1
check "... named as new" grep -q '^  new .*compute_checksum' "$WORK/diff.txt"
"$HUD" --diff "$trace" "$WORK/without.json" > "$WORK/diff.txt" 2>&1
check "--diff: a culprit gone and less blocking pass (exit 0)" test $? = 0
check "... named as gone" grep -q '^  gone .*compute_checksum' "$WORK/diff.txt"
# Runs at other thresholds: what lies between them counts in one only.
jq -c '.traceEvents |= map(if .name=="hud_info" then .args.threshold_ns = 1000000 else . end)' "$trace" > "$WORK/t1.json"
"$HUD" --diff "$trace" "$WORK/t1.json" > "$WORK/diff.txt" 2>&1
check "--diff of runs at other thresholds says so, with both" grep -q 'thresholds differ: 5.0 ms before, 1.0 ms after' "$WORK/diff.txt"
"$HUD" --diff "$trace" "$WORK/slower.json" > "$WORK/diff.txt" 2>&1
check "... and only then" test "$(grep -c 'thresholds differ' "$WORK/diff.txt")" = 0
"$HUD" --diff "$trace" "$WORK/b1.json" > /dev/null 2> "$WORK/err.txt"
check "--diff with a bad file: exit 2 and one sentence" test $? = 2 -a "$(wc -l < "$WORK/err.txt")" = 1
finish
