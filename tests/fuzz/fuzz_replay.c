/* fuzz_replay.c — libFuzzer harness for hud --replay (ui/replay.c, ui/json.c).
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     tests/fuzz/fuzz_replay.c ui/json.c ui/replay.c ui/model.c ui/culprit.c \
 *     ui/text.c ui/summary.c ui/export_folded.c ui/export_pprof.c ui/export_file.c \
 *     -lz -o /tmp/fuzz_replay
 *   /tmp/fuzz_replay -max_len=65536 -max_total_time=300 tests/fuzz/corpus/replay
 *
 * A trace file is whatever someone hands hud, so any bytes are possible. The
 * input is put in a memfd and replayed through its /proc/self/fd path, as a
 * file would be. A rebuilt model is then printed (summary) and exported
 * (folded, pprof) so what the file put into the model is exercised too.
 * Whatever happens: no crash, no leak, no hang, and an error is one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "ui/ui.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[2048], out[128];
	int fd = memfd_create("trace", MFD_CLOEXEC), cut;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = 0;
	struct model *m = replay_load(path, &cut, err, sizeof(err));
	if (!m) {
		if (strncmp(err, "hud: ", 5) != 0 || strchr(err, '\n') || strchr(err, 0x1b))
			abort();
	} else {
		FILE *f = fopen("/dev/null", "w");
		if (f) {
			summary_print(f, m, 10);
			fclose(f);
		}
		snprintf(out, sizeof(out), "/tmp/fuzz_replay.%d.folded", (int)getpid());
		if (folded_write(out, m, err, sizeof(err)) == 0)
			unlink(out);
		snprintf(out, sizeof(out), "/tmp/fuzz_replay.%d.pb.gz", (int)getpid());
		if (pprof_write(out, m, err, sizeof(err)) == 0)
			unlink(out);
		model_free(m);
	}
	close(fd);
	return 0;
}
