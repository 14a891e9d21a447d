/* test_exports.c — the export writers on a known model:
 * - .folded: one line per distinct stack, outermost first, counts equal to
 *   the stacks' worker samples, nothing that would split a frame or a line;
 * - .pb.gz: a gzip stream (zlib inflates it) holding a Profile whose four
 *   sample types and per-sample values add up to the model's totals;
 * - names: strftime patterns, format by extension;
 * - files: a link planted at the destination is replaced, not followed; one
 *   planted at the temporary name makes the export fail; no temporary file
 *   is left behind. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "tests/unit/check.h"
#include "tests/unit/model_fixture.h"

static char dir[] = "/tmp/hud-test-exports.XXXXXX";

static void check_folded(const struct model *m, const char *path)
{
	char err[2048], line[65536];
	CHECK(folded_write(path, m, err, sizeof(err)) == 0, "folded_write: %s", err);
	FILE *f = fopen(path, "r");
	uint64_t total = 0, want = 0;
	int lines = 0, clean = 1, outermost = 1;
	while (f && fgets(line, sizeof(line), f)) {
		char *sp = strrchr(line, ' ');
		lines++;
		if (!sp) {
			clean = 0;
			continue;
		}
		total += strtoull(sp + 1, NULL, 10);
		for (char *p = line; p < sp; p++)
			clean &= (unsigned char)*p >= 0x20 && *p != 0x7f;
		outermost &= strncmp(line, "tokio::runtime::scheduler::multi_thread::worker::run;", 53) == 0;
	}
	if (f)
		fclose(f);
	for (uint32_t i = 0; i < m->nstacks; i++)
		want += m->stacks[i].samples;
	CHECK(lines > 5, "folded lines: %d", lines);
	CHECK(total == want && want == m->info.worker_samples, "folded counts %llu, worker samples %llu",
	      (unsigned long long)total, (unsigned long long)want);
	CHECK(clean, "no control bytes in folded frames");
	CHECK(outermost, "each line starts at the outermost frame");
}

/* ---- a minimal protobuf reader for the check --------------------------------- */

static uint64_t rd_varint(const unsigned char **p, const unsigned char *end)
{
	uint64_t v = 0;
	for (int s = 0; *p < end && s < 64; s += 7) {
		unsigned char b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static void check_pprof(const struct model *m, const char *path)
{
	char err[2048];
	CHECK(pprof_write(path, m, err, sizeof(err)) == 0, "pprof_write: %s", err);
	gzFile gz = gzopen(path, "rb");
	unsigned char *buf = malloc(64 << 20);
	int n = gz && buf ? gzread(gz, buf, 64 << 20) : -1;
	if (gz)
		gzclose(gz);
	CHECK(n > 100, "the profile inflates (%d bytes)", n);
	uint64_t sums[4] = { 0 }, nsamples = 0, ntypes = 0, nloc = 0, nfunc = 0, nstr = 0;
	const unsigned char *p = buf, *end = buf + (n > 0 ? n : 0);
	while (p < end) {
		uint64_t key = rd_varint(&p, end), field = key >> 3;
		if ((key & 7) == 0) {
			rd_varint(&p, end);
			continue;
		}
		uint64_t len = rd_varint(&p, end);
		const unsigned char *q = p, *qe = p + len;
		p += len;
		if (field == 1)
			ntypes++;
		else if (field == 4)
			nloc++;
		else if (field == 5)
			nfunc++;
		else if (field == 6)
			nstr++;
		else if (field == 2) {
			nsamples++;
			while (q < qe) {
				uint64_t k = rd_varint(&q, qe), l = rd_varint(&q, qe);
				const unsigned char *v = q, *ve = q + l;
				q += l;
				for (int i = 0; (k >> 3) == 2 && v < ve && i < 4; i++)
					sums[i] += rd_varint(&v, ve);
			}
		}
	}
	uint64_t blocks = 0, block_ns = 0;
	for (uint32_t i = 0; i < m->nstacks; i++) {
		blocks += m->stacks[i].block_count;
		block_ns += m->stacks[i].block_ns;
	}
	CHECK(ntypes == 4, "four sample types (%llu)", (unsigned long long)ntypes);
	CHECK(nloc == m->nframes && nfunc == m->nfuncs && nstr > 10, "locations, functions, strings");
	CHECK(nsamples > 0 && sums[0] == m->info.worker_samples, "samples add up (%llu)", (unsigned long long)sums[0]);
	CHECK(sums[1] == sums[0] * (1000000000ull / 99), "cpu time is samples x period");
	CHECK(sums[2] == blocks && sums[3] == block_ns, "blocking count and time add up");
	free(buf);
}

static int leftovers(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "ls -A %s | grep -q hud-tmp", dir);
	return system(cmd) == 0;
}

int main(void)
{
	char path[300], err[2048], out[300];
	struct model *m;

	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	m = fix_build(NULL, 0);

	snprintf(path, sizeof(path), "%s/p.folded", dir);
	check_folded(m, path);
	snprintf(path, sizeof(path), "%s/p.pb.gz", dir);
	check_pprof(m, path);

	CHECK(export_format_of("a.json") == EXPORT_CHROME && export_format_of("a.folded") == EXPORT_FOLDED &&
	      export_format_of("x/a.pb.gz") == EXPORT_PPROF && export_format_of("a") == EXPORT_CHROME, "formats by name");
	CHECK(export_name("t-%Y%m%d.json", 0, out, sizeof(out)) == 0 && strlen(out) == strlen("t-19700101.json") &&
	      strncmp(out, "t-19", 4) == 0, "strftime names: %s", out);
	CHECK(export_name("plain.json", 0, out, sizeof(out)) == 0 && strcmp(out, "plain.json") == 0, "plain names");
	CHECK(export_name("%Y", 0, out, 3) < 0, "too long is refused");

	/* A link planted at the destination is replaced, its target untouched. */
	char victim[300], link[300];
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(link, sizeof(link), "%s/l.folded", dir);
	FILE *v = fopen(victim, "w");
	if (v) {
		fputs("precious\n", v);
		fclose(v);
	}
	CHECK(symlink(victim, link) == 0, "symlink");
	CHECK(folded_write(link, m, err, sizeof(err)) == 0, "write over a link: %s", err);
	struct stat st;
	CHECK(lstat(link, &st) == 0 && S_ISREG(st.st_mode), "the destination is now a file, not the link");
	v = fopen(victim, "r");
	char got[32] = "";
	if (v) {
		if (!fgets(got, sizeof(got), v))
			got[0] = 0;
		fclose(v);
	}
	CHECK_STR(got, "precious\n");

	/* A link planted at the temporary name: refused, target untouched. */
	char tmp[300];
	snprintf(link, sizeof(link), "%s/t.folded", dir);
	snprintf(tmp, sizeof(tmp), "%s/.t.folded.hud-tmp.%d", dir, (int)getpid());
	CHECK(symlink(victim, tmp) == 0, "symlink at the temporary name");
	CHECK(folded_write(link, m, err, sizeof(err)) < 0 && strstr(err, "cannot write the export"), "refused: %s", err);
	CHECK(access(link, F_OK) < 0, "nothing under the final name");
	unlink(tmp);
	CHECK(!leftovers(), "no temporary file left");

	snprintf(path, sizeof(path), "%s/no-such-dir/x.pb.gz", dir);
	CHECK(pprof_write(path, m, err, sizeof(err)) < 0 && strstr(err, "cannot write the export") && !strchr(err, '\n'),
	      "an unwritable path: one sentence: %s", err);

	model_free(m);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_done();
}
