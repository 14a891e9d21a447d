/* resolve.c — `hud --resolve BINARY`: file virtual addresses on a stream to
 * the output of `addr2line -a -f -i -C -e BINARY`, so hud's symbolizer can be
 * compared line for line with binutils and the Rust addr2line crate. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf/dwarf.h"

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
		memcpy(b->buf + b->len, s, k);
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

int sym_resolve_stream(const char *binary, FILE *in, FILE *out, char *err, size_t errlen)
{
	struct sym_frame fr[SYM_MAX_FRAMES];
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	int ret = -1;
	struct obuf *ob = malloc(sizeof(*ob));
	if (!ob) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(ob, 0, offsetof(struct obuf, buf));
	ob->out = out;
	int tty = isatty(fileno(out));
	struct sym_file *f = sym_file_open(binary, err, errlen);
	if (!f) {
		free(ob);
		return -1;
	}
	for (;;) {
		errno = 0;
		ssize_t len = getline(&line, &cap, in);
		if (len < 0) {
			if (errno && !feof(in)) {
				snprintf(err, errlen, "reading addresses: %s", strerror(errno));
				goto cleanup;
			}
			break;
		}
		lineno++;
		uint64_t addr;
		int r = parse_addr(line, &addr);
		if (r == 0)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "line %lu: not a hexadecimal address", lineno);
			goto cleanup;
		}
		put_addr(ob, addr);
		int n = sym_file_resolve(f, addr, fr, SYM_MAX_FRAMES);
		if (n == 0)
			ob_put(ob, "??\n??:0\n", 8);
		for (int i = 0; i < n; i++) {
			put_clean(ob, fr[i].function);
			ob_put(ob, "\n", 1);
			put_clean(ob, fr[i].file);
			put_line(ob, fr[i].line);
		}
		/* A terminal gets each answer as it comes, as stdio's line
		 * buffering gave it before. */
		if (ob->len > sizeof(ob->buf) / 2 || tty)
			ob_flush(ob);
		if (ob->failed)
			break;
	}
	ob_flush(ob);
	if (ob->failed || fflush(out) != 0 || ferror(out)) {
		snprintf(err, errlen, "writing results: %s", strerror(errno));
		goto cleanup;
	}
	ret = 0;
cleanup:
	free(line);
	free(ob);
	sym_file_close(f);
	return ret;
}
