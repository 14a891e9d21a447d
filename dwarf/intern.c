/* intern.c — the string interner: an open-addressing hash set of strings whose
 * bytes live in large arena blocks, so interning costs one hash probe and,
 * for a new string, a copy into the current block (no malloc per string). */
#include <stdlib.h>
#include <string.h>

#include "dwarf/symint.h"

#define BLOCK_SIZE   (64 * 1024)
#define MAX_BYTES    ((size_t)256 << 20)   /* bound on interned text per file */

struct block {
	struct block *next;
	size_t used, size;
	char data[];
};

struct sym_strtab {
	const char **slots;     /* NULL = empty; capacity is a power of two */
	uint32_t *hashes;       /* hash of each slot, to skip most strcmp calls */
	size_t cap, count;
	struct block *blocks;
	size_t bytes;
};

static uint32_t hash_bytes(const char *s, size_t len)
{
	/* FNV-1a: short names dominate and it needs no setup. */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* Returns a new empty table, NULL when out of memory. */
struct sym_strtab *sym_strtab_new(void)
{
	struct sym_strtab *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cap = 1024;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	t->hashes = calloc(t->cap, sizeof(*t->hashes));
	if (!t->slots || !t->hashes) {
		free(t->slots);
		free(t->hashes);
		free(t);
		return NULL;
	}
	return t;
}

static int grow(struct sym_strtab *t)
{
	size_t ncap = t->cap * 2;
	const char **ns = calloc(ncap, sizeof(*ns));
	uint32_t *nh = calloc(ncap, sizeof(*nh));
	if (!ns || !nh) {
		free(ns);
		free(nh);
		return -1;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i])
			continue;
		size_t j = t->hashes[i] & (ncap - 1);
		while (ns[j])
			j = (j + 1) & (ncap - 1);
		ns[j] = t->slots[i];
		nh[j] = t->hashes[i];
	}
	free(t->slots);
	free(t->hashes);
	t->slots = ns;
	t->hashes = nh;
	t->cap = ncap;
	return 0;
}

static char *arena_copy(struct sym_strtab *t, const char *s, size_t len)
{
	struct block *b = t->blocks;
	if (!b || b->size - b->used < len + 1) {
		size_t size = len + 1 > BLOCK_SIZE ? len + 1 : BLOCK_SIZE;
		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->size = size;
		b->used = 0;
		/* A big string gets its own block behind the current one, so the
		 * current block's free space is not thrown away. */
		if (t->blocks && size > BLOCK_SIZE) {
			b->next = t->blocks->next;
			t->blocks->next = b;
		} else {
			b->next = t->blocks;
			t->blocks = b;
		}
	}
	char *p = b->data + b->used;
	sym_copy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

const char *sym_intern(struct sym_strtab *t, const char *s, size_t len)
{
	uint32_t h = hash_bytes(s, len);
	size_t i = h & (t->cap - 1);
	for (; t->slots[i]; i = (i + 1) & (t->cap - 1)) {
		if (t->hashes[i] == h && strncmp(t->slots[i], s, len) == 0 &&
		    t->slots[i][len] == '\0')
			return t->slots[i];
	}
	if (t->bytes + len + 1 > MAX_BYTES)
		return NULL;
	char *p = arena_copy(t, s, len);
	if (!p)
		return NULL;
	t->slots[i] = p;
	t->hashes[i] = h;
	t->bytes += len + 1;
	/* Keep the load under one half so probes stay short; a failed grow
	 * leaves a valid (fuller) table. */
	if (++t->count * 2 > t->cap)
		(void)grow(t);
	return p;
}

const char *sym_intern_demangled(struct sym_strtab *t, const char *name)
{
	/* Only _Z (legacy Rust, C++) and _R (Rust v0) names can change; the
	 * rest are interned as they are without a trip through the demangler. */
	if (name[0] == '_' && (name[1] == 'Z' || name[1] == 'R')) {
		char buf[8192];
		/* Rust first (its legacy names also start with _ZN); what it
		 * does not take and starts with _Z is C++ (mixed binaries). */
		if (!sym_demangle(name, buf, sizeof(buf)) && name[1] == 'Z')
			sym_demangle_cpp(name, buf, sizeof(buf));
		return sym_intern(t, buf, strlen(buf));
	}
	return sym_intern(t, name, strlen(name));
}

void sym_strtab_free(struct sym_strtab *t)
{
	if (!t)
		return;
	struct block *b = t->blocks;
	while (b) {
		struct block *n = b->next;
		free(b);
		b = n;
	}
	free(t->slots);
	free(t->hashes);
	free(t);
}
