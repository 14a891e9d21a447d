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
check "nothing stays attached" test "$(hud_prog_count_settled "$before")" = "$before"
finish
