/* init.c — PID 1 of the initramfs that tests/integration/qemu_kernel.sh
 * boots under qemu with another kernel: mounts what hud needs (/proc, /sys;
 * hud mounts tracefs itself), runs `/hud --check-kernel`, prints its exit
 * status on the console and powers the machine off. Built static with musl. */
#include <stdio.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int status = -1;

	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mkdir("/dev", 0755);
	if (mount("proc", "/proc", "proc", 0, NULL) < 0 || mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
		perror("init: mount");
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	struct utsname u;
	if (uname(&u) == 0)
		printf("qemu-init: kernel %s\n", u.release);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/hud", "/hud", "--check-kernel", (char *)NULL);
		perror("init: exec /hud");
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	printf("qemu-init: hud exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
