# term_safety.sh — names hud did not choose never reach the terminal raw:
# function names and file paths with ESC, CSI, OSC, BEL, C1 controls,
# control bytes and invalid UTF-8, from a crafted binary (DWARF file names
# via #line, symbol names via objcopy --redefine-sym) and from a crafted
# trace, go through the summary, --resolve, --replay --headless and error
# messages; no raw ESC (0x1b), BEL (0x07) or CSI (0x9b) byte may come out.
. "$(dirname "$0")/../lib.sh"

EVIL_FILE='evil\x1b]52;c;SGk=\x07\x1b[31m\x9b\xff\x01.c'
EVIL_SYM=$'evil\e[31m\e]0;pwn\a\xc2\x9bfn\xff'
cd "$WORK" || exit 1
# Two threads named evilwork spin in busy(); the file name is hostile.
printf '#line 1 "%s"\n' "$EVIL_FILE" > evil.c
cat >> evil.c <<'C'
#define _GNU_SOURCE
#include <pthread.h>
#include <unistd.h>
__attribute__((noinline)) void busy(volatile unsigned long *x) { for (;;) (*x)++; }
static void *run(void *a) { (void)a; pthread_setname_np(pthread_self(), "evilwork"); volatile unsigned long x = 0; busy(&x); return 0; }
int main(void) { pthread_t t; pthread_create(&t, 0, run, 0); pthread_create(&t, 0, run, 0); sleep(20); return 0; }
C
gcc -g -O1 -fno-omit-frame-pointer -pthread evil.c -o evil || { not_ok "the crafted binary builds"; finish; exit 1; }
objcopy --strip-debug --redefine-sym "busy=$EVIL_SYM" evil evil_nodebug
check "the crafted binary's line table holds ESC" bash -c "readelf --debug-dump=line evil | grep -aq $'\x1b'"
check "the stripped copy's symbol is hostile" bash -c "nm evil_nodebug | grep -aq $'\x1b\\[31m'"

# clean FILE...: no ESC, BEL or 0x9b byte in any of them.
clean() { ! LC_ALL=C grep -aqP '[\x1b\x07\x9b]' "$@"; }

for bin in evil evil_nodebug; do
	"./$bin" & pid=$!
	sleep 0.5
	"$HUD" --pid $pid --workers evilwork --headless --duration 2 --export "$bin.json" > "$bin.out" 2> "$bin.err"
	check "$bin: hud profiles it" test -s "$bin.json"
	check "$bin: the summary names busy (escaped)" grep -aq 'busy\|evil' "$bin.out"
	check "$bin: summary and messages are clean" clean "$bin.out" "$bin.err"
	"$HUD" --replay "$bin.json" --headless > "$bin.replay.out" 2> "$bin.replay.err"
	check "$bin: --replay --headless is clean" clean "$bin.replay.out" "$bin.replay.err"
	addr=$(nm "$bin" | awk '$3 ~ /^(busy|evil)/ {print $1}' | head -n1)
	[ -z "$addr" ] && addr=$(nm "$bin" | LC_ALL=C grep -a ' T evil' | awk '{print $1}')
	echo "0x$addr" | "$HUD" --resolve "$bin" > "$bin.resolve.out" 2> "$bin.resolve.err"
	check "$bin: --resolve answers" test -s "$bin.resolve.out"
	check "$bin: --resolve is clean" clean "$bin.resolve.out" "$bin.resolve.err"
	kill $pid; wait $pid 2>/dev/null
done
check "the escaped file name is still recognisable" grep -aq 'evil' evil.out

# Error messages that quote a hostile path or name.
"$HUD" --replay "$(printf 'no\x1b[2Jsuch\x07.json')" --headless > err1.out 2> err1.err
"$HUD" --resolve "$(printf 'no\x1b]0;x\x07bin')" < /dev/null > err2.out 2> err2.err
"$HUD" "$(printf 'proc\x1b[31m')" --headless > err3.out 2> err3.err
"$HUD" --pid 1 --target "$(printf 'tgt\x9b\x1bc')" --headless > err4.out 2> err4.err
for i in 1 2 3 4; do
	check "error message $i is one clean line" bash -c "[ \$(wc -l < err$i.err) -ge 1 ] && ! LC_ALL=C grep -aqP '[\x1b\x07\x9b]' err$i.out err$i.err"
done

# A crafted trace: hostile names in the strings the replay reader takes.
python3 - "$WORK/evil.json" <<'PY'
import json, sys
src = json.load(open("evil.json"))
bad = "f\x1b]52;c;SGk=\x07\x1b[2J\u009b\ud800x"
def walk(o):
    if isinstance(o, dict):
        return {k: walk(v) for k, v in o.items()}
    if isinstance(o, list):
        return [walk(v) for v in o]
    if isinstance(o, str) and o and not o.isdigit():
        return o + bad
    return o
out = json.dumps(walk(src), ensure_ascii=True).replace("\\ud800", "\\ud800")
open(sys.argv[1].replace("evil.json", "crafted.json"), "w").write(out)
PY
"$HUD" --replay crafted.json --headless > crafted.out 2> crafted.err
rc=$?
check "crafted trace: replay succeeds or refuses in one line" bash -c "[ $rc = 0 ] || [ \$(wc -l < crafted.err) = 1 ]"
check "crafted trace: output is clean" clean crafted.out crafted.err
check "crafted trace: names shown escaped" bash -c "[ $rc != 0 ] || grep -aq '\\\\x1b\\|\\\\e\\|?' crafted.out"
finish
