/* export_pprof.c — a gzipped pprof profile (perftools.profiles.Profile from
 * google/pprof's profile.proto), encoded here by hand: go tool pprof,
 * Pyroscope, Parca and Grafana read it.
 *
 * One Sample per model stack that has CPU samples or blocking, with four
 * values: CPU samples on workers (count), CPU time (samples x period),
 * blocking events (count) and blocking time (ns); the default is blocking
 * time, what hud is for. One Location per model frame (a stack's frames
 * are already split into inline frames, so each Location has one Line) and
 * one Function per model function (name, file and the line it is declared
 * at, its start_line: async blocks of one function share a name). The one Mapping is the
 * target, marked as fully symbolized so no tool tries to symbolize again.
 *
 * Wire format: every field is a varint (wire type 0) or length-delimited
 * (wire type 2); repeated numbers are packed. Messages are built in a byte
 * buffer, nested ones in a scratch buffer and copied in with their length. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "ui/ui.h"

struct buf { unsigned char *p; size_t len, cap; };

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		while (b->len + n > b->cap)
			b->cap = b->cap ? b->cap * 2 : 4096;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void varint(struct buf *b, uint64_t v)
{
	unsigned char t[10];
	int n = 0;
	do {
		t[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	put(b, t, (size_t)n);
}

/* field: varint (skipped when 0, as proto3 does) */
static void f_int(struct buf *b, int field, uint64_t v)
{
	if (!v)
		return;
	varint(b, (uint64_t)field << 3);
	varint(b, v);
}

/* field: bytes (a string or a nested message) */
static void f_bytes(struct buf *b, int field, const void *p, size_t n)
{
	varint(b, (uint64_t)field << 3 | 2);
	varint(b, n);
	put(b, p, n);
}

static void f_msg(struct buf *b, int field, struct buf *msg)
{
	f_bytes(b, field, msg->p, msg->len);
	msg->len = 0;
}

/* The string table: index 0 is "", then strings in first-use order. */
struct strings { struct strtab *t; uint32_t n; };

static int64_t str(struct strings *s, const char *v)
{
	uint32_t id = strtab_intern(s->t, v);  /* id 0 is the table's own "??" */
	if (id + 2 > s->n)
		s->n = id + 2;          /* "" and ids 0..id */
	return (int64_t)id + 1;
}

static void value_type(struct buf *b, struct buf *tmp, int field, struct strings *s, const char *type, const char *unit)
{
	f_int(tmp, 1, (uint64_t)str(s, type));
	f_int(tmp, 2, (uint64_t)str(s, unit));
	f_msg(b, field, tmp);
}

/* The encoded Profile, uncompressed. */
static void encode(struct buf *out, const struct model *m)
{
	struct strings s = { strtab_new(), 1 };
	struct buf tmp = { 0 }, packed = { 0 };
	uint64_t period = m->info.freq > 0 ? 1000000000ull / (uint64_t)m->info.freq : 10000000ull;
	int64_t blocking;

	value_type(out, &tmp, 1, &s, "samples", "count");
	value_type(out, &tmp, 1, &s, "cpu", "nanoseconds");
	value_type(out, &tmp, 1, &s, "blocking_events", "count");
	value_type(out, &tmp, 1, &s, "blocking", "nanoseconds");
	blocking = str(&s, "blocking");

	for (uint32_t i = 0; i < m->nstacks; i++) {
		const struct stack *st = &m->stacks[i];
		if (!st->depth || (!st->samples && !st->block_count))
			continue;
		for (uint32_t k = 0; k < st->depth; k++)      /* leaf first, as pprof wants */
			varint(&packed, (uint64_t)m->stack_frames[st->first + k] + 1);
		f_bytes(&tmp, 1, packed.p, packed.len);
		packed.len = 0;
		varint(&packed, st->samples);
		varint(&packed, st->samples * period);
		varint(&packed, st->block_count);
		varint(&packed, st->block_ns);
		f_bytes(&tmp, 2, packed.p, packed.len);
		packed.len = 0;
		f_msg(out, 2, &tmp);
	}

	f_int(&tmp, 1, 1);
	f_int(&tmp, 5, (uint64_t)str(&s, m->info.target[0] ? m->info.target : m->info.comm));
	f_int(&tmp, 7, 1);      /* has_functions */
	f_int(&tmp, 8, 1);      /* has_filenames */
	f_int(&tmp, 9, 1);      /* has_line_numbers */
	f_int(&tmp, 10, 1);     /* has_inline_frames */
	f_msg(out, 3, &tmp);

	for (uint32_t i = 0; i < m->nframes; i++) {
		const struct frame *fr = &m->frames[i];
		struct buf line = { 0 };
		f_int(&line, 1, (uint64_t)fr->func_index + 1);
		f_int(&line, 2, fr->line);
		f_int(&tmp, 1, (uint64_t)i + 1);
		f_int(&tmp, 2, 1);
		f_msg(&tmp, 4, &line);
		free(line.p);
		f_msg(out, 4, &tmp);
	}

	for (uint32_t i = 0; i < m->nfuncs; i++) {
		const struct func_stat *f = &m->funcs[i];
		int64_t name = str(&s, strtab_get(m->strings, f->function));
		f_int(&tmp, 1, (uint64_t)i + 1);
		f_int(&tmp, 2, (uint64_t)name);
		f_int(&tmp, 3, (uint64_t)name);
		f_int(&tmp, 4, (uint64_t)str(&s, strtab_get(m->strings, f->file)));
		if (f->decl_line)
			f_int(&tmp, 5, f->decl_line);
		f_msg(out, 5, &tmp);
	}

	/* Wall-clock start: the end (now, or the replay) less the duration. */
	uint64_t end = (uint64_t)time(NULL) * 1000000000ull;
	f_int(out, 9, end > m->info.duration_ns ? end - m->info.duration_ns : 0);
	f_int(out, 10, m->info.duration_ns);
	value_type(out, &tmp, 11, &s, "cpu", "nanoseconds");
	f_int(out, 12, period);
	f_int(out, 14, (uint64_t)blocking);

	f_bytes(out, 6, "", 0);
	for (uint32_t id = 0; id + 1 < s.n; id++) {
		const char *v = strtab_get(s.t, id);
		f_bytes(out, 6, v, strlen(v));
	}
	strtab_free(s.t);
	free(tmp.p);
	free(packed.p);
}

/* gzip (windowBits 31: deflate with a gzip header and trailer) into f. */
static int gzip_to(FILE *f, const struct buf *in)
{
	unsigned char chunk[65536];
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = in->p;
	z.avail_in = (uInt)in->len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		if (rc == Z_STREAM_ERROR)
			break;
		size_t n = sizeof(chunk) - z.avail_out;
		if (fwrite(chunk, 1, n, f) != n) {
			rc = Z_STREAM_ERROR;
			break;
		}
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

int pprof_write(const char *path, const struct model *m, char *err, size_t errlen)
{
	struct buf out = { 0 };
	char tmp[4200];
	FILE *f;
	int rc = -1;

	encode(&out, m);
	if (out.len > UINT32_MAX) {
		snprintf(err, errlen, "hud: the pprof profile %s would be larger than 4 GB; not written", path);
		goto out;
	}
	if (!(f = export_tmp_fopen(path, tmp, sizeof(tmp), err, errlen)))
		goto out;
	if (gzip_to(f, &out) < 0) {
		snprintf(err, errlen, "hud: compressing the pprof profile %s failed (zlib); nothing was written", path);
		fclose(f);
		unlink(tmp);
		goto out;
	}
	rc = export_commit(f, tmp, path, err, errlen);
out:
	free(out.p);
	return rc;
}
