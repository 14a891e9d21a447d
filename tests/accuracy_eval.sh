#!/usr/bin/env bash
# accuracy_eval.sh TRACE DEMO_OUTPUT — how well a hud export of the demo app
# names what the demo does wrong. Used by tests/integration/accuracy.sh and
# by the benchmark.
#
# Each deliberately blocking line of the demo is marked
# "// HUD-CULPRIT: KIND NAME"; the healthy controls' hot lines
# "// HUD-HEALTHY: KIND NAME". For each culprit: the blocking events of the
# expected kind that name it at its file:line, or at any of its lines when
# a function carries the marker on several (true positives), how many
# times the demo ran that scenario (from its "totals" line), precision and
# recall. Then the false positives: cpu/off_cpu events blaming a healthy
# control or code that is not the application's.
#
# Output, one line each (tab-separated, for scripts):
#   culprit NAME KIND[+KIND] FILE:LINE[,LINE...] TP OCCURRENCES NAMED PRECISION RECALL
#   false_positive COUNT NAME KIND
#   total TP FP PRECISION
set -u
trace=$1
demo_out=$2
src=$(cd "$(dirname "$0")/demo/src" && pwd)

total() { # scenario -> count from "hud-demo: totals cpu=8 sleep=6 ..."
	grep -o "totals .*" "$demo_out" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1
}

expected_kind() {
	case $1 in
	cpu | mutex-hold | write) echo cpu ;;
	*) echo off_cpu ;;
	esac
}

# Scenario counter behind a marker kind; empty when occurrences are unknown
# (how often waiters block on the demo's mutex depends on timing). For
# fsync and write, persist_record's calls that took 5 ms or more (the demo
# times each): a faster one is not a block at hud's default threshold, and
# how many there are depends on the disk.
occurrences() {
	case $1 in
	cpu) total cpu ;;
	sleep) total sleep ;;
	fsync) total fsync_slow ;;
	write) total write_slow ;;
	net) total net ;;
	mutex-hold) total mutex ;;
	*) echo "" ;;
	esac
}

# One culprit per NAME. A function that blocks at several lines carries a
# marker on each, with the kind of block there; an event of that kind at any
# of them is right, and its runs are the sum of its kinds' counters.
grep -rn "HUD-CULPRIT: " "$src" | grep -v "^$src/main.rs" | while IFS= read -r hit; do
	file=${hit%%:*}; rest=${hit#*:}; line=${rest%%:*}
	marker=${hit##*HUD-CULPRIT: }
	mkind=${marker%% *}; name=${marker#* }
	[ "$mkind" = deadlock ] && continue
	printf '%s\t%s\t%s\tsrc/%s:%s\n' "$name" "$mkind" "$(expected_kind "$mkind")" "${file##*/src/}" "$line"
	# An fsync sleeps for the disk, and at times first starts the
	# writeback of its 4 MiB on CPU, in the kernel, for two samples and
	# more (a cpu block at its line, seen in the 23:59 bench run): either
	# kind there is the call blocking.
	if [ "$mkind" = fsync ]; then
		printf '%s\t%s\t%s\tsrc/%s:%s\n' "$name" "$mkind" cpu "${file##*/src/}" "$line"
	fi
done | sort -s -t $'\t' -k1,1 | awk -F'\t' '
	function flush() { if (n != "") print n "\t" mk "\t" ks "\t" at "\t" locs }
	$1 != n { flush(); n = $1; mk = $2; ks = $3; at = $3 "@" $4; locs = $4
		  lines = "," substr($4, index($4, ":") + 1) ","; next }
	{ if (!index("," mk ",", "," $2 ",")) mk = mk "," $2
	  if (!index("+" ks "+", "+" $3 "+")) ks = ks "+" $3
	  at = at "," $3 "@" $4
	  l = substr($4, index($4, ":") + 1)
	  if (!index(lines, "," l ",")) { locs = locs "," l; lines = lines l "," } }
	END { flush() }' | while IFS=$'\t' read -r name mkinds kind at loc; do
	tp=$(jq --arg n "$name" --arg at "$at" \
		'($at | split(",") | map(split("@"))) as $want
		 | [.traceEvents[] | select(.ph=="B" and (.name|endswith("::"+$n)))
		    | . as $e | select(any($want[]; . as $w | $e.args.kind == $w[0] and ($e.args.location|endswith($w[1]))))]
		 | length' "$trace")
	named=$(jq --arg n "$name" \
		'[.traceEvents[] | select(.ph=="B" and (.args.kind=="cpu" or .args.kind=="off_cpu") and (.name|endswith("::"+$n)))] | length' "$trace")
	occ=
	for mk in ${mkinds//,/ }; do
		o=$(occurrences "$mk")
		[ -n "$o" ] && occ=$(( ${occ:-0} + o ))
	done
	prec=$(awk -v t="$tp" -v n="$named" 'BEGIN { if (n > 0) printf "%.2f", t / n; else print "n/a" }')
	rec=$(awk -v t="$tp" -v o="$occ" 'BEGIN { if (o > 0) { r = t / o; if (r > 1) r = 1; printf "%.2f", r } else print "n/a" }')
	printf 'culprit\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$loc" "$tp" "${occ:-?}" "$named" "$prec" "$rec"
done

# False positives: cpu/off_cpu events whose culprit is a healthy control or
# not the application's code (idle parking, the runtime, libc).
healthy=$(grep -rho "HUD-HEALTHY: [a-z_-]* [a-zA-Z_0-9]*" "$src" | awk '{print $3}' | sort -u | paste -sd'|')
jq -r --arg h "^hud_demo::.*::(${healthy:-NONE})$" '
	[.traceEvents[] | select(.ph=="B" and (.args.kind=="cpu" or .args.kind=="off_cpu"))
	 | select((.name|test($h)) or (.name|startswith("hud_demo::")|not))]
	| group_by(.name + " " + .args.kind) | .[] | "false_positive\t\(length)\t\(.[0].name)\t\(.[0].args.kind)"' "$trace"

jq -r --arg h "^hud_demo::.*::(${healthy:-NONE})$" '
	[.traceEvents[] | select(.ph=="B" and (.args.kind=="cpu" or .args.kind=="off_cpu"))] as $all
	| ($all | map(select((.name|test($h)) or (.name|startswith("hud_demo::")|not))) | length) as $fp
	| ($all | length) as $n
	| "total\t\($n - $fp)\t\($fp)\t\(if $n > 0 then (($n - $fp) / $n * 100 | floor) / 100 else "n/a" end)"' "$trace"
