# qemu_kernel.sh — hud's programs load, attach and report on another kernel:
# Debian's own kernel image (6.1, apt's linux-image-amd64) booted under qemu
# with an initramfs holding only build/hud and a tiny init that runs
# `hud --check-kernel`. Skipped, with the reason, where qemu or the kernel
# image cannot be had.
. "$(dirname "$0")/../lib.sh"

skip() { echo "skip: $1"; echo "0 passed, 0 failed"; exit 0; }
command -v qemu-system-x86_64 > /dev/null && command -v cpio > /dev/null ||
	skip "qemu-system-x86 or cpio is not installed (./build.sh test installs them)"
dir=$ROOT/build/qemu
mkdir -p "$dir"
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
[ -n "$pkg" ] || skip "apt knows no linux-image-amd64 here"
kernel=$dir/vmlinuz-$pkg
if [ ! -s "$kernel" ]; then
	(cd "$dir" && rm -f ./*.deb && apt-get download "$pkg" > /dev/null 2>&1) || skip "cannot download $pkg"
	deb=$(ls "$dir"/*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || skip "cannot download $pkg"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './boot/vmlinuz-*' > "$kernel" || skip "no vmlinuz in $deb"
	rm -f "$deb"
fi

root=$WORK/initramfs
rm -rf "$root"; mkdir -p "$root"
musl-gcc -static -O2 -o "$root/init" "$ROOT/tests/qemu/init.c" || { not_ok "init builds"; finish; exit 1; }
cp "$HUD" "$root/hud"
(cd "$root" && find . | cpio -o -H newc --quiet) > "$WORK/initramfs.cpio"
# KVM when this machine lends it (nested), else software emulation.
boot() {
	timeout 300 qemu-system-x86_64 -machine accel=$1 -cpu $2 -m 1024 -smp 2 -nographic -no-reboot \
		-kernel "$kernel" -initrd "$WORK/initramfs.cpio" -append "console=ttyS0 panic=-1 quiet" \
		> "$WORK/console.txt" 2>&1
}
accel=tcg
if [ -w /dev/kvm ] && (boot kvm host) 2> /dev/null && grep -qa "qemu-init:" "$WORK/console.txt"; then
	accel=kvm
else
	boot tcg max
	# Once in a CI run the emulated machine stopped before its init wrote
	# a line (an empty console; run again at once, it booted): one more
	# boot before judging. A kernel that boots and then fails hud's checks
	# is judged on its first boot.
	if ! grep -qa "qemu-init:" "$WORK/console.txt"; then
		echo "no line from init on the console; booting once more"
		boot tcg max
	fi
fi
release=$(grep -ao 'qemu-init: kernel [^ ]*' "$WORK/console.txt" | head -n 1 | tr -cd '[:print:]')
echo "booted: ${release:-?} ($accel)"
# The firmware writes escape sequences on the console: printable bytes only.
grep -a "hud:" "$WORK/console.txt" | tr -cd '[:print:]\n' | sed 's/^/    /'
check "the kernel image booted under qemu (${release#qemu-init: })" grep -qa "qemu-init: hud exited" "$WORK/console.txt"
# Debian's 6.1 has task_struct.sched_info.last_queued: no sched_wakeup
# program, three in all (the sampler, sched_switch, the epoll_wait counter).
check "hud loaded and attached its programs there and saw events" grep -qa "this kernel runs hud's programs: 3 programs" "$WORK/console.txt"
check "the workers' wakeups were read from the tasks there" grep -qa "wakeups read from the tasks" "$WORK/console.txt"
check "the epoll_wait calls were counted there (syscall tracepoints)" grep -qa "epoll_wait calls counted" "$WORK/console.txt"
check "hud --check-kernel exited 0 there" grep -qa "qemu-init: hud exited with 0" "$WORK/console.txt"
finish
