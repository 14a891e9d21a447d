/* text.c — allocation that cannot fail, strings made safe for a terminal and
 * for JSON, interned strings, and the clock. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ui/ui.h"

static void out_of_memory(size_t n)
{
	fprintf(stderr, "hud: out of memory (asked for %zu bytes); free memory or shorten --duration\n", n);
	exit(2);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory(n);
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid. */
static int utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

int text_cp_hidden(uint32_t c)
{
	return (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x206f) || c == 0xfeff || c == 0xad || c == 0x061c;
}

/* C1 controls (U+0080-U+009F) are two-byte UTF-8 sequences that some
 * terminals still obey (CSI as U+009B), so they are escaped too; so are
 * the characters that do not show (text_cp_hidden): a right-to-left
 * override in a name would reorder the rest of the line. s is valid
 * UTF-8 of len bytes. */
static int must_escape(const unsigned char *s, int len)
{
	uint32_t c = len == 2 ? (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f) :
		     len == 3 ? (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f) : 0;
	return (len == 2 && c < 0xa0) || text_cp_hidden(c);
}

void text_sanitize(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (!outlen)
		return;
	while (*p) {
		int len = utf8_len(p);
		if (len == 1 && *p >= 0x20 && *p != 0x7f) {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)*p++;
		} else if (len > 1 && !must_escape(p, len)) {
			if (o + (size_t)len >= outlen)
				break;
			memcpy(out + o, p, (size_t)len);
			o += (size_t)len;
			p += len;
		} else {
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
			p++;
		}
	}
	out[o] = 0;
}

void json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		int len = utf8_len(p);
		if (len == 0) {
			fputs("\\ufffd", f);
			p++;
		} else if (len > 1) {
			fwrite(p, 1, (size_t)len, f);
			p += len;
		} else if (*p == '"' || *p == '\\') {
			fputc('\\', f);
			fputc(*p++, f);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else {
			fputc(*p++, f);
		}
	}
	fputc('"', f);
}

/* ---- Interned strings: one copy of each distinct string, ids are stable. */

struct strtab {
	char **v;
	uint32_t n, cap;
	uint32_t *index;        /* open addressing: id + 1, 0 = empty */
	uint32_t index_cap;
};

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

struct strtab *strtab_new(void)
{
	struct strtab *t = xcalloc(1, sizeof(*t));
	t->index_cap = 1024;
	t->index = xcalloc(t->index_cap, sizeof(uint32_t));
	strtab_intern(t, "??");     /* id 0: unknown */
	return t;
}

static void strtab_grow(struct strtab *t)
{
	uint32_t cap = t->index_cap * 2;
	uint32_t *index = xcalloc(cap, sizeof(uint32_t));

	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t h = str_hash(t->v[i]) & (cap - 1);
		while (index[h])
			h = (h + 1) & (cap - 1);
		index[h] = i + 1;
	}
	free(t->index);
	t->index = index;
	t->index_cap = cap;
}

uint32_t strtab_intern(struct strtab *t, const char *s)
{
	uint32_t h = str_hash(s) & (t->index_cap - 1);

	while (t->index[h]) {
		uint32_t id = t->index[h] - 1;
		if (strcmp(t->v[id], s) == 0)
			return id;
		h = (h + 1) & (t->index_cap - 1);
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->v = xrealloc(t->v, t->cap * sizeof(char *));
	}
	t->v[t->n] = xstrdup(s);
	t->index[h] = ++t->n;
	if (t->n * 2 > t->index_cap)
		strtab_grow(t);
	return t->n - 1;
}

const char *strtab_get(const struct strtab *t, uint32_t id)
{
	return id < t->n ? t->v[id] : "??";
}

void strtab_free(struct strtab *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	free(t->index);
	free(t);
}
