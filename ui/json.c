/* json.c — a streaming JSON reader for replayed traces.
 *
 * The file is read in chunks and handed out as tokens (json_next), so a
 * 100 MB trace never sits in memory: the caller keeps what it needs and
 * skips the rest (json_skip). Where a caller wants one small value whole (one
 * trace event), jdoc_read builds it into a flat, reusable node array.
 *
 * Input is hostile until proven otherwise: nesting is limited (JSON_MAX_DEPTH),
 * strings are limited (JSON_MAX_STRING), numbers must follow the JSON grammar
 * and fit a double, raw control bytes in strings are refused, and an input
 * that ends early is told apart from one that is wrong (json_truncated), so
 * a trace cut short by SIGKILL can still be used up to its last whole value;
 * so is one whose end is zero bytes (power loss), wherever they start.
 * Escapes are decoded to UTF-8; \u0000 and lone surrogates become U+FFFD so
 * a decoded string is always a C string. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ui/ui.h"

#define CHUNK (256 * 1024)

enum state {
	S_VALUE,        /* a value must come */
	S_ARR_FIRST,    /* after '[': a value or ']' */
	S_OBJ_FIRST,    /* after '{': a key or '}' */
	S_KEY,          /* after ',' in an object: a key */
	S_COLON,        /* after a key */
	S_AFTER,        /* after a value: ',' or the closing bracket */
	S_DONE,         /* the top-level value is complete */
};

struct json {
	int fd;
	unsigned char *buf;
	size_t len, pos;
	int eof;
	uint64_t consumed;      /* bytes before buf[0] */
	uint64_t line;
	char stack[JSON_MAX_DEPTH];     /* 'o' or 'a' per open container */
	int depth;
	enum state state;
	int skipping;           /* strings are checked, not stored */
	/* the current token */
	char *str;
	size_t slen, scap;
	double num;
	uint64_t u64;
	int is_u64;
	/* the first error */
	int failed, truncated, caller;
	char err[200];
};

static int fail(struct json *j, int truncated, const char *fmt, ...)
{
	va_list ap;
	char what[120];

	if (j->failed)
		return JT_ERROR;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	j->failed = 1;
	j->truncated = truncated;
	if (truncated)
		snprintf(j->err, sizeof(j->err), "%s", what);
	else
		snprintf(j->err, sizeof(j->err), "%s at line %llu, byte %llu", what,
			 (unsigned long long)j->line, (unsigned long long)(j->consumed + j->pos));
	return JT_ERROR;
}

/* Power loss can leave a run of zero bytes where unwritten data was, from
 * any byte on, inside a string, an escape or a literal too: that is a file
 * cut short, not a wrong one. */
static int zero_bytes(struct json *j)
{
	return fail(j, 1, "the input ends in zero bytes (unwritten blocks)");
}

struct json *json_open(int fd)
{
	struct json *j = xcalloc(1, sizeof(*j));
	j->fd = fd;
	j->buf = xmalloc(CHUNK);
	j->line = 1;
	j->scap = 256;
	j->str = xmalloc(j->scap);
	j->str[0] = 0;
	j->state = S_VALUE;
	return j;
}

void json_close(struct json *j)
{
	if (!j)
		return;
	free(j->buf);
	free(j->str);
	free(j);
}

/* More input; 1 when there is some, 0 at the end, -1 on a read error. */
static int fill(struct json *j)
{
	ssize_t n;

	if (j->eof)
		return 0;
	j->consumed += j->len;
	j->len = j->pos = 0;
	do
		n = read(j->fd, j->buf, CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		fail(j, 0, "reading failed (%s)", strerror(errno));
		return -1;
	}
	if (n == 0) {
		j->eof = 1;
		return 0;
	}
	j->len = (size_t)n;
	return 1;
}

/* The next byte without taking it; -1 at the end (or after an error). */
static inline int peek(struct json *j)
{
	if (j->pos < j->len)
		return j->buf[j->pos];
	return fill(j) > 0 ? j->buf[j->pos] : -1;
}

static int peek_nonws(struct json *j)
{
	for (;;) {
		while (j->pos < j->len) {
			unsigned char c = j->buf[j->pos];
			if (c == '\n')
				j->line++;
			else if (c != ' ' && c != '\t' && c != '\r')
				return c;
			j->pos++;
		}
		if (fill(j) <= 0)
			return -1;
	}
}

static int ended(struct json *j, const char *where)
{
	if (j->failed)
		return JT_ERROR;
	return fail(j, 1, "the input ends in the middle of %s", where);
}

static void str_put(struct json *j, const void *p, size_t n)
{
	if (j->skipping) {
		j->slen += n;
		return;
	}
	if (j->slen + n + 1 > j->scap) {
		while (j->slen + n + 1 > j->scap)
			j->scap *= 2;
		j->str = xrealloc(j->str, j->scap);
	}
	memcpy(j->str + j->slen, p, n);
	j->slen += n;
}

static void put_utf8(struct json *j, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	str_put(j, b, n);
}

static int hex4(struct json *j, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int c = peek(j);
		if (c < 0)
			return ended(j, "a string");
		if (c >= '0' && c <= '9')
			v = v * 16 + (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (uint32_t)(c - 'A' + 10);
		else if (c == 0)
			return zero_bytes(j);
		else
			return fail(j, 0, "a \\u escape without four hex digits");
		j->pos++;
	}
	*out = v;
	return 0;
}

/* A string whose opening quote is at pos; leaves its bytes in j->str. A
 * surrogate pair becomes one code point; a lone half becomes U+FFFD. */
static int read_string(struct json *j)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	uint32_t high = 0, cp = 0;

	j->pos++;
	j->slen = 0;
	for (;;) {
		size_t start = j->pos;
		while (j->pos < j->len) {
			unsigned char c = j->buf[j->pos];
			if (c == '"' || c == '\\' || c < 0x20)
				break;
			j->pos++;
		}
		if (j->pos > start) {
			if (high)
				put_utf8(j, 0xfffd);
			high = 0;
			str_put(j, j->buf + start, j->pos - start);
		}
		if (j->slen > JSON_MAX_STRING)
			return fail(j, 0, "a string longer than %d bytes", JSON_MAX_STRING);
		int c = peek(j);
		if (c < 0)
			return ended(j, "a string");
		if (c == '"') {
			j->pos++;
			break;
		}
		if (c == 0)
			return zero_bytes(j);
		if (c < 0x20)
			return fail(j, 0, "a raw control byte 0x%02x inside a string", c);
		if (c != '\\')
			continue;
		j->pos++;
		c = peek(j);
		if (c < 0)
			return ended(j, "a string");
		if (c == 0)
			return zero_bytes(j);
		j->pos++;
		const char *e = strchr(from, c);
		if (e) {
			if (high)
				put_utf8(j, 0xfffd);
			high = 0;
			str_put(j, &to[e - from], 1);
			continue;
		}
		if (c != 'u')
			return fail(j, 0, "an unknown escape \\%c in a string", c >= 0x20 && c < 0x7f ? c : '?');
		if (hex4(j, &cp) < 0)
			return JT_ERROR;
		if (high) {
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				put_utf8(j, 0x10000 + ((high - 0xd800) << 10) + (cp - 0xdc00));
				high = 0;
				continue;
			}
			put_utf8(j, 0xfffd);
			high = 0;
		}
		if (cp >= 0xd800 && cp < 0xdc00)
			high = cp;
		else
			put_utf8(j, cp);
	}
	if (high)
		put_utf8(j, 0xfffd);
	if (j->slen > JSON_MAX_STRING)
		return fail(j, 0, "a string longer than %d bytes", JSON_MAX_STRING);
	if (!j->skipping)
		j->str[j->slen] = 0;
	return 0;
}

/* A number by the JSON grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int read_number(struct json *j)
{
	char b[48];
	size_t n = 0;
	int c;

	while ((c = peek(j)) >= 0 && (strchr("0123456789+-.eE", c) && c)) {
		if (n + 1 >= sizeof(b))
			return fail(j, 0, "a number longer than %zu characters", sizeof(b) - 2);
		b[n++] = (char)c;
		j->pos++;
	}
	b[n] = 0;
	if (j->failed)
		return JT_ERROR;
	const char *p = b;
	int integer = 1;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		goto bad;
	if (*p == '.') {
		integer = 0;
		p++;
		if (!(*p >= '0' && *p <= '9'))
			goto bad;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		integer = 0;
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			goto bad;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		goto bad;
	errno = 0;
	j->num = strtod(b, NULL);
	if (errno == ERANGE && !isfinite(j->num))
		return fail(j, 0, "a number out of range (%s)", b);
	j->is_u64 = 0;
	if (integer && b[0] != '-') {
		errno = 0;
		char *end;
		unsigned long long v = strtoull(b, &end, 10);
		if (!errno && !*end) {
			j->u64 = v;
			j->is_u64 = 1;
		}
	}
	return 0;
bad:
	if (c < 0 && !j->failed && j->depth > 0)
		return ended(j, "a number");
	return fail(j, 0, "a malformed number '%.20s'", b);
}

static int read_literal(struct json *j, const char *word, int tok)
{
	for (const char *w = word; *w; w++) {
		int c = peek(j);
		if (c < 0)
			return ended(j, "a literal");
		if (c == 0)
			return zero_bytes(j);
		if (c != *w)
			return fail(j, 0, "an unexpected '%c' where a value should start", word[0]);
		j->pos++;
	}
	return tok;
}

static int bad_byte(struct json *j, int c, const char *expected)
{
	if (c == 0)
		return zero_bytes(j);
	if (c >= 0x20 && c < 0x7f)
		return fail(j, 0, "an unexpected '%c' where %s should be", c, expected);
	return fail(j, 0, "an unexpected byte 0x%02x where %s should be", c, expected);
}

int json_next(struct json *j)
{
	if (j->failed)
		return JT_ERROR;
	for (;;) {
		int c = peek_nonws(j);
		if (j->failed)
			return JT_ERROR;
		if (j->state == S_AFTER && j->depth == 0)
			j->state = S_DONE;
		if (c < 0 && j->state != S_DONE)
			return ended(j, j->depth ? (j->stack[j->depth - 1] == 'o' ? "an object" : "an array") : "the input");
		switch (j->state) {
		case S_DONE:
			if (c < 0)
				return JT_END;
			return bad_byte(j, c, "the end of the input");
		case S_AFTER:
			if (j->depth == 0) {
				j->state = S_DONE;
				continue;
			}
			if (c == ',') {
				j->pos++;
				j->state = j->stack[j->depth - 1] == 'o' ? S_KEY : S_VALUE;
				continue;
			}
			if (c == (j->stack[j->depth - 1] == 'o' ? '}' : ']')) {
				j->pos++;
				return j->stack[--j->depth] == 'o' ? JT_END_OBJ : JT_END_ARR;
			}
			return bad_byte(j, c, j->stack[j->depth - 1] == 'o' ? "',' or '}'" : "',' or ']'");
		case S_OBJ_FIRST:
		case S_KEY:
			if (c == '}' && j->state == S_OBJ_FIRST) {
				j->pos++;
				j->depth--;
				j->state = S_AFTER;
				return JT_END_OBJ;
			}
			if (c != '"')
				return bad_byte(j, c, "a key");
			if (read_string(j) < 0)
				return JT_ERROR;
			j->state = S_COLON;
			return JT_KEY;
		case S_COLON:
			if (c != ':')
				return bad_byte(j, c, "':'");
			j->pos++;
			j->state = S_VALUE;
			continue;
		case S_ARR_FIRST:
			if (c == ']') {
				j->pos++;
				j->depth--;
				j->state = S_AFTER;
				return JT_END_ARR;
			}
			/* fall through */
		case S_VALUE:
			j->state = S_AFTER;
			if (c == '{' || c == '[') {
				if (j->depth >= JSON_MAX_DEPTH)
					return fail(j, 0, "nesting deeper than %d levels", JSON_MAX_DEPTH);
				j->pos++;
				j->stack[j->depth++] = (char)(c == '{' ? 'o' : 'a');
				j->state = c == '{' ? S_OBJ_FIRST : S_ARR_FIRST;
				return c == '{' ? JT_BEGIN_OBJ : JT_BEGIN_ARR;
			}
			if (c == '"')
				return read_string(j) < 0 ? JT_ERROR : JT_STRING;
			if (c == '-' || (c >= '0' && c <= '9'))
				return read_number(j) < 0 ? JT_ERROR : JT_NUMBER;
			if (c == 't')
				return read_literal(j, "true", JT_TRUE);
			if (c == 'f')
				return read_literal(j, "false", JT_FALSE);
			if (c == 'n')
				return read_literal(j, "null", JT_NULL);
			return bad_byte(j, c, "a value");
		}
	}
}

int json_skip(struct json *j, int tok)
{
	int depth = j->depth, rc = 0;

	if (tok != JT_BEGIN_OBJ && tok != JT_BEGIN_ARR)
		return tok == JT_ERROR ? -1 : 0;
	j->skipping = 1;
	while (j->depth >= depth) {
		int t = json_next(j);
		if (t == JT_ERROR || t == JT_END) {
			rc = -1;
			break;
		}
	}
	j->skipping = 0;
	j->slen = 0;
	j->str[0] = 0;
	return rc;
}

const char *json_str(const struct json *j, size_t *len)
{
	if (len)
		*len = j->slen;
	return j->str;
}

double json_num(const struct json *j)
{
	return j->num;
}

int json_u64(const struct json *j, uint64_t *out)
{
	if (!j->is_u64)
		return -1;
	*out = j->u64;
	return 0;
}

int json_depth(const struct json *j)
{
	return j->depth;
}

uint64_t json_offset(const struct json *j)
{
	return j->consumed + j->pos;
}

const char *json_error(const struct json *j)
{
	return j->failed ? j->err : NULL;
}

int json_truncated(const struct json *j)
{
	return j->failed && j->truncated;
}

void json_fail(struct json *j, const char *fmt, ...)
{
	va_list ap;
	char what[120];

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!j->failed)
		j->caller = 1;
	fail(j, 0, "%s", what);
}

int json_syntax_error(const struct json *j)
{
	return j->failed && !j->truncated && !j->caller;
}

/* ---- One value, whole ------------------------------------------------------ */

void jdoc_init(struct jdoc *d, size_t max_bytes)
{
	memset(d, 0, sizeof(*d));
	d->max_bytes = max_bytes;
}

void jdoc_free(struct jdoc *d)
{
	free(d->n);
	free(d->s);
	memset(d, 0, sizeof(*d));
}

static uint32_t str_keep(struct jdoc *d, const char *s, size_t len)
{
	while (d->slen + len + 1 > d->scap) {
		d->scap = d->scap ? d->scap * 2 : 4096;
		d->s = xrealloc(d->s, d->scap);
	}
	memcpy(d->s + d->slen, s, len + 1);
	d->slen += len + 1;
	return (uint32_t)(d->slen - len - 1);
}

static int node_new(struct json *j, struct jdoc *d, int type, uint32_t key)
{
	if (d->count == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 256;
		d->n = xrealloc(d->n, d->cap * sizeof(struct jnode));
	}
	if ((size_t)d->count * sizeof(struct jnode) + d->slen > d->max_bytes) {
		json_fail(j, "a single event larger than %zu bytes", d->max_bytes);
		return -1;
	}
	struct jnode *n = &d->n[d->count];
	memset(n, 0, sizeof(*n));
	n->type = (uint8_t)type;
	n->key = key;
	return (int)d->count++;
}

static int build(struct json *j, struct jdoc *d, int tok, uint32_t key, const char *skip_key)
{
	int i;

	switch (tok) {
	case JT_BEGIN_OBJ:
	case JT_BEGIN_ARR: {
		int obj = tok == JT_BEGIN_OBJ;
		if ((i = node_new(j, d, obj ? JSON_OBJECT : JSON_ARRAY, key)) < 0)
			return -1;
		uint32_t children = 0;
		for (;;) {
			uint32_t k = JDOC_NO_KEY;
			int t = json_next(j);
			if (t == JT_END_OBJ || t == JT_END_ARR)
				break;
			if (t == JT_ERROR)
				return -1;
			if (obj) {
				if (skip_key && strcmp(j->str, skip_key) == 0) {
					if (json_skip(j, json_next(j)) < 0 || j->failed)
						return -1;
					continue;
				}
				k = str_keep(d, j->str, j->slen);
				t = json_next(j);
			}
			if (build(j, d, t, k, skip_key) < 0)
				return -1;
			children++;
		}
		d->n[i].len = children;
		break;
	}
	case JT_STRING:
		if ((i = node_new(j, d, JSON_STRING, key)) < 0)
			return -1;
		d->n[i].str = str_keep(d, j->str, j->slen);
		d->n[i].len = (uint32_t)j->slen;
		break;
	case JT_NUMBER:
		if ((i = node_new(j, d, JSON_NUMBER, key)) < 0)
			return -1;
		d->n[i].num = j->num;
		d->n[i].is_u64 = (uint8_t)j->is_u64;
		d->n[i].u64 = j->u64;
		break;
	case JT_TRUE:
	case JT_FALSE:
	case JT_NULL:
		if ((i = node_new(j, d, tok == JT_NULL ? JSON_NULL : tok == JT_TRUE ? JSON_TRUE : JSON_FALSE, key)) < 0)
			return -1;
		break;
	default:
		return -1;
	}
	d->n[i].end = d->count;
	return 0;
}

int jdoc_read(struct json *j, struct jdoc *d, int tok, const char *skip_key)
{
	d->count = 0;
	d->slen = 0;
	return build(j, d, tok, JDOC_NO_KEY, skip_key) < 0 || j->failed ? -1 : 0;
}

int jdoc_get(const struct jdoc *d, int obj, const char *key)
{
	if (obj < 0 || (uint32_t)obj >= d->count || d->n[obj].type != JSON_OBJECT)
		return -1;
	for (uint32_t c = (uint32_t)obj + 1; c < d->n[obj].end; c = d->n[c].end)
		if (d->n[c].key != JDOC_NO_KEY && strcmp(d->s + d->n[c].key, key) == 0)
			return (int)c;
	return -1;
}

int jdoc_first(const struct jdoc *d, int parent)
{
	if (parent < 0 || (uint32_t)parent >= d->count || d->n[parent].len == 0)
		return -1;
	return parent + 1;
}

int jdoc_next(const struct jdoc *d, int parent, int child)
{
	uint32_t n = d->n[child].end;
	return n < d->n[parent].end ? (int)n : -1;
}

int jdoc_type(const struct jdoc *d, int i)
{
	return i < 0 || (uint32_t)i >= d->count ? -1 : d->n[i].type;
}

uint32_t jdoc_len(const struct jdoc *d, int i)
{
	return jdoc_type(d, i) == JSON_ARRAY || jdoc_type(d, i) == JSON_OBJECT ? d->n[i].len : 0;
}

const char *jdoc_str(const struct jdoc *d, int i)
{
	return jdoc_type(d, i) == JSON_STRING ? d->s + d->n[i].str : NULL;
}

int jdoc_u64(const struct jdoc *d, int i, uint64_t max, uint64_t *out)
{
	if (jdoc_type(d, i) != JSON_NUMBER)
		return -1;
	if (!d->n[i].is_u64) {
		/* A whole number written as a float (1.0, 5e6: tools that
		 * rewrite JSON do), exact below 2^53. */
		double v = d->n[i].num;
		if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(uint64_t)v || (uint64_t)v > max)
			return -1;
		*out = (uint64_t)v;
		return 0;
	}
	if (d->n[i].u64 > max)
		return -1;
	*out = d->n[i].u64;
	return 0;
}

int jdoc_num(const struct jdoc *d, int i, double lo, double hi, double *out)
{
	if (jdoc_type(d, i) != JSON_NUMBER || !(d->n[i].num >= lo && d->n[i].num <= hi))
		return -1;
	*out = d->n[i].num;
	return 0;
}
