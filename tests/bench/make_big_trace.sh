#!/usr/bin/env bash
# make_big_trace.sh OUT.json [SIZE_MB] — builds tests/bench/make_big_trace.c
# against hud's model and Chrome writer and writes a trace of about SIZE_MB
# (default 100) megabytes, then times `hud --replay OUT.json --headless`.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: make_big_trace.sh OUT.json [SIZE_MB]}
size=${2:-100}
tool=build/tests/make_big_trace
mkdir -p build/tests
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -I. -o "$tool" tests/bench/make_big_trace.c \
	ui/model.c ui/culprit.c ui/text.c ui/export_chrome.c ui/export_file.c -lz
"$tool" "$out" "$size"
if [ -x build/hud ]; then
	/usr/bin/time -f "replay: %e s elapsed, %M KB max resident" build/hud --replay "$out" --headless > /dev/null
fi
