/* kbtf.c — the running kernel's BTF: type ids and member offsets (see kbtf.h).
 * Layout (Documentation/bpf/btf.rst): a header, then the type section (one
 * record per type, ids from 1, each 12 bytes plus a kind-dependent tail),
 * then the string section. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "loader/kbtf.h"
#include "loader/loader_int.h"

#define BTF_MAGIC 0xeB9F

struct rec {
	uint32_t name_off, info, size_type;
};

static uint32_t kind_of(const struct rec *r) { return (r->info >> 24) & 0x1f; }
static uint32_t vlen_of(const struct rec *r) { return r->info & 0xffff; }

/* Bytes after the 12-byte record, by kind; -1 for a kind this reader
 * does not know (then the rest of the section cannot be walked). */
static long tail_of(const struct rec *r)
{
	uint32_t v = vlen_of(r);

	switch (kind_of(r)) {
	case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18:
		return 0;
	case 1: case 14: case 17:
		return 4;
	case 3:
		return 12;
	case 4: case 5: case 15: case 19:
		return 12l * v;
	case 6: case 13:
		return 8l * v;
	default:
		return -1;
	}
}

static const char *name_at(const struct kbtf *k, uint32_t off)
{
	if (off >= k->strings_len || !memchr(k->strings + off, 0, k->strings_len - off))
		return "";
	return (const char *)k->strings + off;
}

static const struct rec *rec_of(const struct kbtf *k, uint32_t id)
{
	if (id == 0 || id >= k->ntypes)
		return NULL;
	return (const struct rec *)(k->types + k->type_at[id]);
}

/* The whole file in memory: mapped where the file allows it (the kernel's
 * BTF can be mapped since Linux 6.16, and read only 4 KB per read(), which
 * took ~5.5 ms of hud's start-up here), else read into a growing buffer.
 * k->mapped says which, for kbtf_close. */
static int load_file(struct kbtf *k, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 8u << 20, n = 0;
	unsigned char *buf;
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size < (256u << 20)) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			close(fd);
			k->data = m;
			k->len = (size_t)st.st_size;
			k->mapped = 1;
			return 0;
		}
	}
	buf = malloc(cap);
	while (buf) {
		if (n == cap) {
			unsigned char *more = cap < (256u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!more) {
				free(buf);
				buf = NULL;
				errno = ENOMEM;
				break;
			}
			buf = more;
			cap *= 2;
		}
		ssize_t got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			free(buf);
			buf = NULL;
			errno = e;
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (!buf)
		return -1;
	k->data = buf;
	k->len = n;
	return 0;
}

int kbtf_open(struct kbtf *k, const char *path, char *err, size_t errlen)
{
	uint32_t hdr_len, type_off, type_len, str_off, str_len, cap = 1 << 16;

	memset(k, 0, sizeof(*k));
	if (load_file(k, path) < 0) {
		loader_fail(err, errlen, errno, "hud: cannot read the kernel's BTF (%s); hud needs a kernel "
			    "built with CONFIG_DEBUG_INFO_BTF", path);
		return -1;
	}
	const unsigned char *d = k->data;
	if (k->len < 24 || (uint32_t)(d[0] | d[1] << 8) != BTF_MAGIC)
		goto bad;
	memcpy(&hdr_len, d + 4, 4);
	memcpy(&type_off, d + 8, 4);
	memcpy(&type_len, d + 12, 4);
	memcpy(&str_off, d + 16, 4);
	memcpy(&str_len, d + 20, 4);
	/* Records are read in place as 32-bit words: the type section must
	 * start 4-byte aligned. */
	if (hdr_len < 24 || hdr_len > k->len || ((hdr_len + type_off) & 3) ||
	    (uint64_t)type_off + type_len > k->len - hdr_len || (uint64_t)str_off + str_len > k->len - hdr_len)
		goto bad;
	k->types = d + hdr_len + type_off;
	k->types_len = type_len;
	k->strings = d + hdr_len + str_off;
	k->strings_len = str_len;
	k->type_at = malloc(cap * sizeof(uint32_t));
	if (!k->type_at)
		goto nomem;
	k->type_at[0] = 0;
	k->ntypes = 1;
	for (uint32_t at = 0; at < type_len;) {
		if (type_len - at < sizeof(struct rec))
			goto bad;
		struct rec r;
		memcpy(&r, k->types + at, sizeof(r));
		long tail = tail_of(&r);
		if (tail < 0 || (uint64_t)at + sizeof(r) + (uint64_t)tail > type_len || (at & 3))
			goto bad;
		if (k->ntypes == cap) {
			uint32_t *more = cap < (1u << 24) ? realloc(k->type_at, 2 * cap * sizeof(uint32_t)) : NULL;
			if (!more)
				goto nomem;
			k->type_at = more;
			cap *= 2;
		}
		k->type_at[k->ntypes++] = at;
		at += (uint32_t)(sizeof(r) + (size_t)tail);
	}
	return 0;
bad:
	snprintf(err, errlen, "hud: the kernel's BTF (%s) is not in a form hud reads; report the kernel "
		 "version (uname -r)", path);
	kbtf_close(k);
	return -1;
nomem:
	snprintf(err, errlen, "hud: out of memory reading the kernel's BTF");
	kbtf_close(k);
	return -1;
}

void kbtf_close(struct kbtf *k)
{
	if (k->mapped)
		munmap((void *)k->data, k->len);
	else
		free((void *)k->data);
	free(k->type_at);
	memset(k, 0, sizeof(*k));
}

static struct kbtf kernel;

const struct kbtf *kbtf_kernel(char *err, size_t errlen)
{
	if (!kernel.data && kbtf_open(&kernel, "/sys/kernel/btf/vmlinux", err, errlen) < 0)
		return NULL;
	return &kernel;
}

void kbtf_kernel_release(void)
{
	kbtf_close(&kernel);
}

uint32_t kbtf_find(const struct kbtf *k, uint32_t kind, const char *name)
{
	for (uint32_t id = 1; id < k->ntypes; id++) {
		const struct rec *r = rec_of(k, id);
		if (kind_of(r) == kind && strcmp(name_at(k, r->name_off), name) == 0)
			return id;
	}
	return 0;
}

/* The struct or union behind id, through typedefs and qualifiers; 0 if
 * it is none. */
static uint32_t aggregate_of(const struct kbtf *k, uint32_t id)
{
	for (int hops = 0; hops < 32; hops++) {
		const struct rec *r = rec_of(k, id);
		if (!r)
			return 0;
		uint32_t kind = kind_of(r);
		if (kind == KBTF_KIND_STRUCT || kind == KBTF_KIND_UNION)
			return id;
		if (kind != KBTF_KIND_TYPEDEF && kind != 9 && kind != 10 && kind != 11 && kind != 18)
			return 0;
		id = r->size_type;
	}
	return 0;
}

/* Member name of aggregate id, also inside its anonymous members: its
 * byte offset added to *off and its type in *type; 0 when found. */
static int member_of(const struct kbtf *k, uint32_t id, const char *name, size_t name_len, int depth,
		     long *off, uint32_t *type)
{
	const struct rec *r = rec_of(k, aggregate_of(k, id));

	if (!r || depth > 8)
		return -1;
	const unsigned char *m = (const unsigned char *)(r + 1);
	int bitfields = (int)(r->info >> 31);
	for (uint32_t i = 0; i < vlen_of(r); i++, m += 12) {
		uint32_t mname, mtype, moff;
		memcpy(&mname, m, 4);
		memcpy(&mtype, m + 4, 4);
		memcpy(&moff, m + 8, 4);
		uint32_t bits = bitfields ? moff & 0xffffff : moff;
		if (bitfields && (moff >> 24))
			continue;       /* a bitfield: no byte offset to load from */
		const char *n = name_at(k, mname);
		if (!*n) {
			long inner = *off + bits / 8;
			if (member_of(k, mtype, name, name_len, depth + 1, &inner, type) == 0) {
				*off = inner;
				return 0;
			}
			continue;
		}
		if (strlen(n) == name_len && memcmp(n, name, name_len) == 0 && bits % 8 == 0) {
			*off += bits / 8;
			*type = mtype;
			return 0;
		}
	}
	return -1;
}

long kbtf_member_offset(const struct kbtf *k, const char *struct_name, const char *path)
{
	uint32_t id = kbtf_find(k, KBTF_KIND_STRUCT, struct_name);
	long off = 0;

	if (!id)
		return -1;
	while (*path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (member_of(k, id, path, n, 0, &off, &id) < 0)
			return -1;
		path += n + (dot ? 1 : 0);
	}
	return off;
}
