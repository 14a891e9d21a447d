# bare_host.sh — the one binary runs on a bare host: only build/hud in an
# empty root with /proc and /sys (no libc, no /usr, no /tmp), chrooted,
# profiling the demo app that runs outside; and `hud --version` says what
# the kernel offers and what hud was built with.
. "$(dirname "$0")/../lib.sh"

# Everything happens in a private mount namespace: the mounts go away with
# it, so no cleanup ever walks into /proc or /sys, and the host sees nothing.
root=$(mktemp -d)
trap 'stop_demos; rm -rf --one-file-system "$root"' EXIT
cp "$HUD" "$root/hud"
mkdir "$root/proc" "$root/sys" "$root/out"
# in_root CMD...: runs CMD (a chroot into $root) with fresh /proc and /sys there.
in_root() {
	unshare -m --propagation private bash -c '
		r=$1; shift
		mount -t proc proc "$r/proc" && mount -t sysfs sysfs "$r/sys" || exit 99
		ls "$r" | tr "\n" " " > "$r/out/ls"
		"$@"' _ "$root" "$@"
}

start_demo --scenario cpu || { not_ok "demo app starts"; finish; exit 1; }
in_root chroot "$root" /hud --pid "$DEMO_PID" --headless --duration 3 --export /out/trace.json > "$WORK/bare.txt" 2> "$WORK/bare.err"
rc=$?
check "the root held nothing but hud, /proc, /sys and /out" test "$(cat "$root/out/ls")" = "hud out proc sys "
check "chrooted: hud exits 0" test $rc = 0
[ $rc = 0 ] || sed "s/^/    /" "$WORK/bare.err"
check "chrooted: the export names compute_checksum" jq -e \
	'[.traceEvents[] | select(.ph=="B" and (.name|test("compute_checksum$")))] | length > 0' "$root/out/trace.json"
check "chrooted: the summary names compute_checksum" grep -q compute_checksum "$WORK/bare.txt"

in_root chroot "$root" /hud --version > "$WORK/version.txt" 2>&1
rc=$?
check "--version: exits 0" test $rc = 0
check "--version: the version" grep -q "^hud [0-9]" "$WORK/version.txt"
check "--version: the kernel release" grep -q "^kernel $(uname -r):" "$WORK/version.txt"
for f in "BPF ring buffer yes" "perf events yes" "tracepoints (sched_switch, sched_wakeup) yes" "BTF yes"; do
	check "--version: $f" grep -qF "$f" "$WORK/version.txt"
done
check "--version: libdwarf's version" grep -Eq "libdwarf [0-9]{8}" "$WORK/version.txt"
check "--version: libelf's version" grep -Eq "libelf [0-9]+\.[0-9]+" "$WORK/version.txt"
check "--version: musl's version" grep -Eq "musl [0-9]+\.[0-9]+" "$WORK/version.txt"
finish
