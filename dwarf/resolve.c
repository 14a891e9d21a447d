/* resolve.c — `hud --resolve BINARY`: file virtual addresses on a stream to
 * the output of `addr2line -a -f -i -C -e BINARY`, so hud's symbolizer can be
 * compared line for line with binutils and the Rust addr2line crate. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf/symint.h"

/* Parses "[ws][0x]HEX[ws]". Returns 1 with *addr, 0 for a blank line, -1
 * when the line is not a hex address. */
static int parse_addr(const char *s, uint64_t *addr)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	uint64_t v = 0;
	int digits = 0;
	for (; *s; s++, digits++) {
		int c = (unsigned char)*s, d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (digits >= 16)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (*s)
		return -1;
	if (digits == 0)
		return 0;
	*addr = v;
	return 1;
}

/* Output is built in an append buffer and written in large chunks: with
 * musl's stdio a call per field was a tenth of the run. */
struct obuf {
	FILE *out;
	size_t len;
	int failed;
	/* Names are interned and repeat across addresses: their length and
	 * whether they need cleaning are remembered by address, so each is
	 * scanned once rather than once per appearance. */
	struct { const char *s; size_t len; } seen[4096];
	char buf[1 << 16];
};

static void ob_flush(struct obuf *b)
{
	if (b->len && fwrite(b->buf, 1, b->len, b->out) != b->len)
		b->failed = 1;
	b->len = 0;
}

static void ob_put(struct obuf *b, const char *s, size_t n)
{
	while (n > 0) {
		if (b->len == sizeof(b->buf))
			ob_flush(b);
		size_t k = sizeof(b->buf) - b->len;
		if (k > n)
			k = n;
		sym_copy(b->buf + b->len, s, k);
		b->len += k;
		s += k;
		n -= k;
	}
}

/* Writes a name from the target, control bytes replaced so that one frame
 * stays one line whatever the file contains. */
/* Length of the printable character at u: 1 for ASCII, 2-4 for valid UTF-8
 * (not overlong, not a surrogate, not a C1 control), 0 for anything else. */
static int utf8_ok(const unsigned char *u)
{
	if (u[0] >= 0x20 && u[0] < 0x7f)
		return 1;
	int n = u[0] >= 0xc2 && u[0] <= 0xdf ? 2 : u[0] >= 0xe0 && u[0] <= 0xef ? 3 :
		u[0] >= 0xf0 && u[0] <= 0xf4 ? 4 : 0;
	for (int i = 1; i < n; i++)
		if ((u[i] & 0xc0) != 0x80)
			return 0;
	if (n == 2 && u[0] == 0xc2 && u[1] < 0xa0)
		return 0;                               /* C1 control */
	if (n == 3 && ((u[0] == 0xe0 && u[1] < 0xa0) || (u[0] == 0xed && u[1] >= 0xa0)))
		return 0;                               /* overlong, surrogate */
	if (n == 4 && ((u[0] == 0xf0 && u[1] < 0x90) || (u[0] == 0xf4 && u[1] >= 0x90)))
		return 0;
	return n;
}

static void put_clean(struct obuf *b, const char *s)
{
	size_t h = ((uintptr_t)s >> 3) & (sizeof(b->seen) / sizeof(b->seen[0]) - 1);
	if (b->seen[h].s == s) {
		ob_put(b, s, b->seen[h].len);
		return;
	}
	const char *c = s;
	while ((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f)
		c++;
	if (!*c) {
		b->seen[h].s = s;
		b->seen[h].len = (size_t)(c - s);
		ob_put(b, s, (size_t)(c - s));  /* the common case: one copy */
		return;
	}
	/* Names and paths come from the binary: control bytes, C1 controls
	 * (U+0080..U+009F, which terminals take as ESC sequences, raw or in
	 * UTF-8) and bytes that are not UTF-8 become '?'; other UTF-8 stays. */
	const unsigned char *u = (const unsigned char *)s;
	while (*u) {
		int n = utf8_ok(u);
		if (n > 0) {
			ob_put(b, (const char *)u, (size_t)n);
			u += n;
		} else {
			ob_put(b, "?", 1);
			u++;
		}
	}
}

static void put_addr(struct obuf *b, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char t[19];
	t[0] = '0';
	t[1] = 'x';
	for (int i = 0; i < 16; i++)
		t[2 + i] = hex[(v >> (60 - 4 * i)) & 15];
	t[18] = '\n';
	ob_put(b, t, sizeof(t));
}

static void put_line(struct obuf *b, uint32_t v)
{
	char t[16];
	int i = sizeof(t);
	t[--i] = '\n';
	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	t[--i] = ':';
	ob_put(b, t + i, sizeof(t) - (size_t)i);
}

/* Input is read in large blocks straight from the descriptor (stdio's
 * buffer would hide whether the next read can block), or through stdio
 * for a stream without one. */
struct input {
	FILE *in;
	int fd;
	char *buf;
	size_t len, pos, cap;
	int eof;
};

/* 1 when a read of r could block: a pipe or terminal with nothing ready. */
static int input_idle(const struct input *r)
{
	if (r->fd < 0)
		return 0;
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	return poll(&p, 1, 0) == 0;
}

/* Reads more input. Returns 0, or -1 on a read error (errno set). */
static int input_fill(struct input *r)
{
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : (size_t)1 << 16;
		char *n = realloc(r->buf, ncap + 1);
		if (!n) {
			errno = ENOMEM;
			return -1;
		}
		r->buf = n;
		r->cap = ncap;
	}
	ssize_t n;
	if (r->fd >= 0) {
		do
			n = read(r->fd, r->buf + r->len, r->cap - r->len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -1;
	} else {
		n = (ssize_t)fread(r->buf + r->len, 1, r->cap - r->len, r->in);
		if (n == 0 && ferror(r->in))
			return -1;
	}
	if (n == 0)
		r->eof = 1;
	r->len += (size_t)n;
	return 0;
}

/* The next complete line (NUL-terminated, newline dropped) from what was
 * read, or the unterminated rest at EOF; NULL when more must be read. */
static char *input_line(struct input *r)
{
	if (!r->buf)
		return NULL;
	char *start = r->buf + r->pos;
	char *nl = memchr(start, '\n', r->len - r->pos);
	if (!nl) {
		if (!r->eof || r->pos == r->len)
			return NULL;
		nl = r->buf + r->len;   /* buf has room for the NUL */
	}
	*nl = '\0';
	r->pos = (size_t)(nl - r->buf) + (nl < r->buf + r->len);
	return start;
}

/* Ascending; a merge sort, as musl's qsort is slow on plain keys. tmp holds
 * n elements. */
static void sort_addrs(uint64_t *v, size_t n, uint64_t *tmp)
{
	uint64_t *src = v, *dst = tmp;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t a = lo, b = mid, o = lo;
			while (a < mid && b < hi)
				dst[o++] = src[b] < src[a] ? src[b++] : src[a++];
			while (a < mid)
				dst[o++] = src[a++];
			while (b < hi)
				dst[o++] = src[b++];
		}
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
}

#define BATCH_MAX  ((size_t)1 << 20)   /* addresses answered together */

static void put_frames(struct obuf *ob, const struct sym_frame *fr, int k)
{
	if (k == 0)
		ob_put(ob, "??\n??:0\n", 8);
	for (int j = 0; j < k; j++) {
		put_clean(ob, fr[j].function);
		ob_put(ob, "\n", 1);
		put_clean(ob, fr[j].file);
		put_line(ob, fr[j].line);
	}
}

/* A batch's answers: the frames of each distinct address, in address
 * order (frames first[i] to first[i+1] are addr[i]'s), and which of them
 * each address of the batch is (at, in the batch's order). */
struct answers {
	uint64_t *addr;
	uint32_t *first, *at;
	struct sym_frame *fr;
	size_t m, nfr, frcap;
};

/* Resolves the batch's distinct addresses in address order: each compile
 * unit is then loaded about once per batch whatever the symbolizer's
 * memory budget, and lookups stay in cache. Returns 0, or -1 out of
 * memory (what it allocated in a is still to be freed). */
static int answers_fill(struct sym_file *f, struct answers *a, const uint64_t *addrs, size_t n)
{
	uint64_t *v = malloc(2 * n * sizeof(*v));
	a->addr = v;
	if (!v)
		return -1;
	memcpy(v, addrs, n * sizeof(*v));
	sort_addrs(v, n, v + n);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || v[i] != v[m - 1])
			v[m++] = v[i];
	a->m = m;
	a->first = malloc((m + 1) * sizeof(*a->first));
	a->frcap = m + m / 2 + SYM_MAX_FRAMES;
	a->fr = malloc(a->frcap * sizeof(*a->fr));
	if (!a->first || !a->fr)
		return -1;
	for (size_t i = 0; i < m; i++) {
		if (a->nfr + SYM_MAX_FRAMES > a->frcap) {
			size_t ncap = a->frcap * 2;
			struct sym_frame *t = realloc(a->fr, ncap * sizeof(*t));
			if (!t)
				return -1;
			a->fr = t;
			a->frcap = ncap;
		}
		if (a->nfr > UINT32_MAX - SYM_MAX_FRAMES)
			return -1;
		a->first[i] = (uint32_t)a->nfr;
		a->nfr += (size_t)sym_file_resolve(f, v[i], a->fr + a->nfr, SYM_MAX_FRAMES);
	}
	a->first[m] = (uint32_t)a->nfr;
	/* The sort's half of v is free again: n indices fit (n <= BATCH_MAX). */
	a->at = (uint32_t *)(void *)(v + n);
	for (size_t i = 0; i < n; i++) {
		size_t lo = 0, hi = m;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (v[mid] <= addrs[i])
				lo = mid;
			else
				hi = mid;
		}
		a->at[i] = (uint32_t)lo;
	}
	return 0;
}

/* Answers a batch of addresses in input order, from answers resolved in
 * address order (answers_fill); out of memory for those, one at a time. */
static void answer_batch(struct sym_file *f, struct obuf *ob, const uint64_t *addrs, size_t n,
			 int tty)
{
	struct answers a = { 0 };
	int whole = n > 1 && answers_fill(f, &a, addrs, n) == 0;
	for (size_t i = 0; i < n && !ob->failed; i++) {
		put_addr(ob, addrs[i]);
		if (whole) {
			/* In the batch's order the answers are read at random:
			 * fetched a few addresses ahead, their misses overlap. */
			if (i + 16 < n)
				__builtin_prefetch(a.first + a.at[i + 16]);
			if (i + 8 < n)
				__builtin_prefetch(a.fr + a.first[a.at[i + 8]]);
			uint32_t k = a.at[i];
			put_frames(ob, a.fr + a.first[k], (int)(a.first[k + 1] - a.first[k]));
		} else {
			struct sym_frame fr[SYM_MAX_FRAMES];
			put_frames(ob, fr, sym_file_resolve(f, addrs[i], fr, SYM_MAX_FRAMES));
		}
		/* A terminal gets each answer as it comes. */
		if (ob->len > sizeof(ob->buf) / 2 || tty)
			ob_flush(ob);
	}
	free(a.addr);
	free(a.first);
	free(a.fr);
	ob_flush(ob);
	/* Through stdio too: a caller waiting for these answers gets them. */
	if (fflush(ob->out) != 0)
		ob->failed = 1;
}

int sym_resolve_stream(struct sym_file *f, FILE *in, FILE *out, char *err, size_t errlen)
{
	struct input r = { .in = in, .fd = fileno(in) };
	unsigned long lineno = 0;
	int ret = -1;
	size_t n = 0, cap = 4096;
	uint64_t *addrs = malloc(cap * sizeof(*addrs));
	struct obuf *ob = malloc(sizeof(*ob));
	if (ob)
		memset(ob, 0, offsetof(struct obuf, buf));
	if (!ob || !addrs) {
		snprintf(err, errlen, "hud: --resolve: out of memory");
		goto cleanup;
	}
	ob->out = out;
	int tty = isatty(fileno(out)) || (r.fd >= 0 && isatty(r.fd));
	for (;;) {
		char *line = input_line(&r);
		if (!line) {
			if (r.eof)
				break;
			/* Answer what was asked before a read that may wait for
			 * more: a caller taking turns with hud gets its answers. */
			if (n > 0 && input_idle(&r)) {
				answer_batch(f, ob, addrs, n, tty);
				n = 0;
			}
			if (input_fill(&r) != 0) {
				answer_batch(f, ob, addrs, n, tty);
				snprintf(err, errlen, "hud: --resolve: reading the addresses failed: %s", strerror(errno));
				goto cleanup;
			}
			continue;
		}
		lineno++;
		uint64_t addr;
		int pr = parse_addr(line, &addr);
		if (pr == 0)
			continue;
		if (pr < 0) {
			answer_batch(f, ob, addrs, n, tty);
			snprintf(err, errlen, "hud: --resolve: line %lu is not a hexadecimal address; give one a line, as addr2line takes them (0x4ca04)", lineno);
			goto cleanup;
		}
		if (n == cap) {
			uint64_t *t = realloc(addrs, 2 * cap * sizeof(*t));
			if (!t) {
				answer_batch(f, ob, addrs, n, tty);
				snprintf(err, errlen, "hud: --resolve: out of memory");
				goto cleanup;
			}
			addrs = t;
			cap *= 2;
		}
		addrs[n++] = addr;
		if (n == BATCH_MAX || tty) {
			answer_batch(f, ob, addrs, n, tty);
			n = 0;
		}
		if (ob->failed)
			break;
	}
	answer_batch(f, ob, addrs, n, tty);
	if (ob->failed || fflush(out) != 0 || ferror(out)) {
		snprintf(err, errlen, "hud: --resolve: writing the results failed: %s", strerror(errno));
		goto cleanup;
	}
	ret = 0;
cleanup:
	free(r.buf);
	free(addrs);
	free(ob);
	return ret;
}
