/* samples.c — the reader's side of the records' rings, one per CPU (see
 * struct hud_sample_pos in hud_bpf.h): "samples" and "sample_pos" mapped
 * into hud, records (samples and off-CPU records) read in place. Each ring
 * has one writer (the kernel side, on its CPU) and one reader (hud): the
 * writer's head is read with acquire,
 * so the record it published is complete; the tail is published with
 * release once hud is done with a record, so the writer never reuses a
 * slot hud still reads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "loader/loader_int.h"

struct sample_rings {
	unsigned char *slots;           /* "samples": ncpus parts of nslots records */
	size_t slots_len;
	struct hud_sample_pos *pos;     /* "sample_pos": one per CPU */
	size_t pos_len;
	uint32_t nslots;
	int ncpus;
};

static void *map_array(int fd, size_t bytes, size_t *len, char *err, size_t errlen, const char *what)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (fd < 0 || page <= 0) {
		snprintf(err, errlen, "hud: the BPF object has no %s map; the build is broken", what);
		return NULL;
	}
	*len = (bytes + (size_t)page - 1) / (size_t)page * (size_t)page;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		loader_fail(err, errlen, errno, "hud: cannot map the BPF %s map (BPF_F_MMAPABLE needs Linux 5.5)", what);
		return NULL;
	}
	return p;
}

struct sample_rings *sample_rings_open(const struct bpf_obj *o, char *err, size_t errlen)
{
	struct sample_rings *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "hud: out of memory");
		return NULL;
	}
	r->nslots = o->sample_slots;
	r->ncpus = o->ncpus_possible;
	r->slots = map_array(loader_map_fd(o, "samples"), (size_t)r->ncpus * r->nslots * sizeof(struct hud_sample),
			     &r->slots_len, err, errlen, "samples");
	if (r->slots)
		r->pos = map_array(loader_map_fd(o, "sample_pos"), (size_t)r->ncpus * sizeof(struct hud_sample_pos),
				   &r->pos_len, err, errlen, "sample_pos");
	if (!r->pos || r->nslots == 0) {
		if (r->pos)
			snprintf(err, errlen, "hud: the samples' rings have no slots; the build is broken");
		sample_rings_close(r);
		return NULL;
	}
	return r;
}

int sample_rings_cpus(const struct sample_rings *r)
{
	return r->ncpus;
}

const void *sample_rings_peek(struct sample_rings *r, int cpu, uint64_t until_ns)
{
	struct hud_sample_pos *p = &r->pos[cpu];
	uint64_t tail = p->tail;        /* hud's own */

	if (__atomic_load_n(&p->head, __ATOMIC_ACQUIRE) == tail)
		return NULL;
	const struct hud_event *rec = (const struct hud_event *)(void *)
		(r->slots + ((size_t)cpu * r->nslots + (tail & (r->nslots - 1))) * sizeof(struct hud_sample));
	return hud_record_time(rec) <= until_ns ? rec : NULL;
}

void sample_rings_pop(struct sample_rings *r, int cpu)
{
	struct hud_sample_pos *p = &r->pos[cpu];
	__atomic_store_n(&p->tail, p->tail + 1, __ATOMIC_RELEASE);
}

int sample_rings_drain(struct sample_rings *r, ringbuf_fn fn, void *ctx)
{
	const void *rec;
	int n = 0;

	for (int c = 0; c < r->ncpus; c++)
		while ((rec = sample_rings_peek(r, c, UINT64_MAX))) {
			int stop = fn(ctx, rec, sizeof(struct hud_sample));
			sample_rings_pop(r, c);
			n++;
			if (stop)
				return n;
		}
	return n;
}

void sample_rings_close(struct sample_rings *r)
{
	if (!r)
		return;
	if (r->slots)
		munmap(r->slots, r->slots_len);
	if (r->pos)
		munmap(r->pos, r->pos_len);
	free(r);
}
