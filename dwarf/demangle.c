/* demangle.c — Rust symbol names to the text a Rust programmer would write.
 *
 * Two schemes exist in the wild and both show up in one Tokio binary (the
 * precompiled std of recent toolchains uses v0 while crates may still use
 * the default legacy scheme):
 * - legacy: `_ZN` + length-prefixed path elements + `E`, the last element a
 *   `h<16 hex>` hash, with `$LT$`-style escapes for characters assemblers
 *   reject;
 * - v0 (RFC 2603): `_R` + a compact grammar of paths, types and constants
 *   with back-references into the symbol itself.
 *
 * The output is meant to match, byte for byte, what the rustc-demangle crate
 * prints with `format!("{:#}", demangle(sym))` (hash and crate
 * disambiguators dropped), including its placeholders for malformed parts
 * (`{invalid syntax}`, `?`, `punycode{...}`), so names hud shows agree with
 * Rust backtraces. This is an independent implementation of the grammar.
 *
 * Safety: the input is untrusted bytes from a target binary. Every read is
 * bounds-checked against the input length and output never exceeds outlen.
 * Recursion depth is capped like rustc-demangle's (500) and every
 * back-reference hop counts towards it, so references cannot loop forever.
 * Printing stops as soon as the output buffer is full, which also bounds the
 * work of a symbol built to expand exponentially through back-references.
 * The deepest symbols need under 80 KiB of stack (measured at -O2); no heap
 * is used. */
#include <stdint.h>
#include <string.h>
#include "dwarf/symint.h"

/* rustc-demangle gives up past this nesting depth; using the same limit keeps
 * the same symbols demangleable and the C stack use bounded. */
#define V0_MAX_DEPTH 500
/* Node visits allowed while printing one symbol: a safety net far above any
 * real symbol, for work that produces no output. */
#define V0_MAX_STEPS (1u << 22)
/* rustc-demangle decodes punycode into a fixed array of this many chars and
 * prints the raw `punycode{...}` form when an identifier needs more. */
#define PUNY_MAX_CHARS 128

/* ==== Output buffer ===================================================== */

/* Output goes through one truncating writer so no caller does arithmetic on
 * outlen; `full` doubles as the stop signal for the v0 printer. */
struct dm_out {
	char *buf;
	size_t cap;     /* bytes usable for text: outlen - 1 */
	size_t len;
	int full;
};

static void out_put(struct dm_out *o, const char *s, size_t n)
{
	size_t room = o->cap - o->len;

	if (o->full)
		return;
	if (n > room) {
		n = room;
		o->full = 1;
	}
	sym_copy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void out_str(struct dm_out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void out_u64(struct dm_out *o, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_put(o, tmp + i, sizeof(tmp) - i);
}

/* Unicode scalar values are written as UTF-8; callers have already checked
 * the value is a valid scalar (not a surrogate, at most 0x10FFFF). */
static void out_utf8(struct dm_out *o, uint32_t c)
{
	char b[4];
	size_t n;

	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | (c >> 6));
		b[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | (c >> 12));
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (c >> 18));
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	out_put(o, b, n);
}

static int is_scalar(uint64_t c)
{
	return c <= 0x10ffff && (c < 0xd800 || c > 0xdfff);
}

static int is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_lower_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
static int is_any_hex(int c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

/* ASCII letters, digits and punctuation: what rustc-demangle accepts in a
 * `.suffix` (e.g. `.cold`, `.llvm.123`) left after the mangled name. */
static int is_symbol_like(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f)
			return 0;
	}
	return 1;
}

static int all_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] & 0x80)
			return 0;
	return 1;
}

/* ==== Legacy scheme ===================================================== */

/* Checks the `<len><bytes>...E` element list and counts the elements.
 * Returns the offset just past the `E`, or 0 when malformed (a valid list is
 * never empty of bytes: it holds at least the `E`). */
static size_t legacy_scan(const char *s, size_t n, size_t *elements)
{
	size_t i = 0;

	*elements = 0;
	if (n == 0)
		return 0;
	while (s[i] != 'E') {
		size_t len = 0;

		if (!is_digit(s[i]))
			return 0;
		while (is_digit(s[i])) {
			size_t d = (size_t)(s[i] - '0');
			if (len > (SIZE_MAX - d) / 10)
				return 0;
			len = len * 10 + d;
			if (++i >= n)
				return 0;
		}
		/* The identifier must leave room for at least one more byte
		 * (the next element or the `E`). */
		if (len >= n - i)
			return 0;
		i += len;
		(*elements)++;
	}
	return i + 1;
}

/* `h` followed only by hex digits: the crate-and-signature hash rustc
 * appends as the last element, dropped from the output. */
static int legacy_is_hash(const char *s, size_t n)
{
	if (n == 0 || s[0] != 'h')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_any_hex(s[i]))
			return 0;
	return 1;
}

/* The `$..$` escapes rustc uses for characters some assemblers reject.
 * Returns the replacement text, or NULL when unknown; `$u<hex>$` is handled
 * by the caller because it yields a code point. */
static const char *legacy_escape(const char *e, size_t n)
{
	static const struct { const char *code, *text; } map[] = {
		{ "SP", "@" }, { "BP", "*" }, { "RF", "&" }, { "LT", "<" },
		{ "GT", ">" }, { "LP", "(" }, { "RP", ")" }, { "C", "," },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].code) == n && memcmp(map[i].code, e, n) == 0)
			return map[i].text;
	return NULL;
}

/* `$u7b$` is a code point in lowercase hex. Returns it, or -1 when the digits
 * are not lowercase hex, do not fit 32 bits, are not a scalar value, or name
 * a control character (those stay escaped so the output stays printable). */
static int64_t legacy_unicode_escape(const char *e, size_t n)
{
	uint64_t v = 0;

	if (n < 2 || e[0] != 'u')
		return -1;
	for (size_t i = 1; i < n; i++) {
		if (!is_lower_hex(e[i]))
			return -1;
		v = v * 16 + (uint64_t)(is_digit(e[i]) ? e[i] - '0' : e[i] - 'a' + 10);
		if (v > UINT32_MAX)
			return -1;
	}
	if (!is_scalar(v) || v < 0x20 || (v >= 0x7f && v <= 0x9f))
		return -1;
	return (int64_t)v;
}

/* One path element, unescaped: `..` is `::`, `$LT$` is `<`, and so on. An
 * unknown escape ends decoding and the rest is printed as it stands. */
static void legacy_element(struct dm_out *o, const char *s, size_t n)
{
	size_t i = 0;

	/* rustc prefixes `_` to elements starting with `$` so they stay
	 * identifiers; the escape after it is the real start. */
	if (n >= 2 && s[0] == '_' && s[1] == '$')
		i = 1;
	while (i < n) {
		if (s[i] == '.') {
			if (i + 1 < n && s[i + 1] == '.') {
				out_str(o, "::");
				i += 2;
			} else {
				out_str(o, ".");
				i++;
			}
		} else if (s[i] == '$') {
			const char *close = memchr(s + i + 1, '$', n - i - 1);
			const char *text;
			size_t elen;
			int64_t cp;

			if (!close)
				break;
			elen = (size_t)(close - (s + i + 1));
			text = legacy_escape(s + i + 1, elen);
			if (text) {
				out_str(o, text);
			} else {
				cp = legacy_unicode_escape(s + i + 1, elen);
				if (cp < 0)
					break;
				out_utf8(o, (uint32_t)cp);
			}
			i += elen + 2;
		} else {
			size_t j = i;
			while (j < n && s[j] != '$' && s[j] != '.')
				j++;
			out_put(o, s + i, j - i);
			i = j;
		}
	}
	out_put(o, s + i, n - i);
}

/* Demangles `<elements>E<suffix>` (the text after `_ZN`). Returns 1 and
 * writes the name, or 0 when this is not a legacy symbol. */
static int legacy_demangle(const char *s, size_t n, struct dm_out *o)
{
	size_t elements, end, i = 0;

	if (!all_ascii(s, n))
		return 0;
	end = legacy_scan(s, n, &elements);
	if (end == 0)
		return 0;
	if (end < n && (s[end] != '.' || !is_symbol_like(s + end, n - end)))
		return 0;
	for (size_t e = 0; e < elements; e++) {
		size_t len = 0;

		while (is_digit(s[i]))
			len = len * 10 + (size_t)(s[i++] - '0');
		if (e + 1 == elements && legacy_is_hash(s + i, len))
			break;
		if (e != 0)
			out_str(o, "::");
		legacy_element(o, s + i, len);
		i += len;
	}
	out_put(o, s + end, n - end);
	return 1;
}

/* ==== v0 scheme: parser ================================================== */

enum { V0_OK, V0_INVALID, V0_TOO_DEEP };

/* The parser and printer state. `out` is NULL while only parsing: when the
 * whole symbol is validated first, and for the impl path of `M`/`X` items,
 * which the output omits. As in rustc-demangle, a parse error is printed
 * once at the point it happens, after which everything still to be parsed
 * prints as `?`, so the output keeps the rough shape of the name. */
struct v0 {
	const char *sym;        /* after `_R` */
	size_t len;
	size_t pos;
	unsigned depth;
	int err;                /* V0_* */
	struct dm_out *out;
	uint64_t bound_lt;      /* lifetimes bound by enclosing `for<...>` */
	unsigned long steps;
};

struct v0_ident {
	const char *ascii;
	size_t ascii_len;
	const char *puny;       /* punycode deltas, or NULL */
	size_t puny_len;
};

static int v0_peek(const struct v0 *p)
{
	return p->pos < p->len ? (unsigned char)p->sym[p->pos] : -1;
}

static int v0_eat_raw(struct v0 *p, int c)
{
	if (v0_peek(p) != c)
		return 0;
	p->pos++;
	return 1;
}

/* Once the parser has failed nothing more is consumed. */
static int v0_eat(struct v0 *p, int c)
{
	return p->err == V0_OK && v0_eat_raw(p, c);
}

static int v0_next(struct v0 *p, int *c)
{
	if (p->pos >= p->len)
		return V0_INVALID;
	*c = (unsigned char)p->sym[p->pos++];
	return V0_OK;
}

static int v0_push_depth(struct v0 *p)
{
	return ++p->depth > V0_MAX_DEPTH ? V0_TOO_DEEP : V0_OK;
}

static void v0_pop_depth(struct v0 *p)
{
	if (p->err == V0_OK)
		p->depth--;
}

/* Base-62 number terminated by `_`, where `_` alone is 0 and digits encode
 * the value minus one. */
static int v0_integer62(struct v0 *p, uint64_t *v)
{
	uint64_t x = 0;
	int c;

	if (v0_eat_raw(p, '_')) {
		*v = 0;
		return V0_OK;
	}
	while (!v0_eat_raw(p, '_')) {
		uint64_t d;

		c = v0_peek(p);
		if (is_digit(c))
			d = (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'z')
			d = (uint64_t)(10 + c - 'a');
		else if (is_upper(c))
			d = (uint64_t)(36 + c - 'A');
		else
			return V0_INVALID;
		p->pos++;
		if (x > (UINT64_MAX - d) / 62)
			return V0_INVALID;
		x = x * 62 + d;
	}
	if (x == UINT64_MAX)
		return V0_INVALID;
	*v = x + 1;
	return V0_OK;
}

/* `<tag><integer62>` or nothing; nothing is 0, so present values are +1. */
static int v0_opt_integer62(struct v0 *p, int tag, uint64_t *v)
{
	int e;

	*v = 0;
	if (!v0_eat_raw(p, tag))
		return V0_OK;
	e = v0_integer62(p, v);
	if (e)
		return e;
	if (*v == UINT64_MAX)
		return V0_INVALID;
	(*v)++;
	return V0_OK;
}

static int v0_disambiguator(struct v0 *p, uint64_t *v)
{
	return v0_opt_integer62(p, 's', v);
}

/* Uppercase namespaces are special (closures, shims) and are printed;
 * lowercase ones are ordinary items. ns is 0 for the latter. */
static int v0_namespace(struct v0 *p, int *ns)
{
	int c, e = v0_next(p, &c);

	if (e)
		return e;
	if (is_upper(c))
		*ns = c;
	else if (c >= 'a' && c <= 'z')
		*ns = 0;
	else
		return V0_INVALID;
	return V0_OK;
}

/* Lowercase hex digits up to `_`; start and n locate the digits. */
static int v0_hex(struct v0 *p, size_t *start, size_t *n)
{
	int c;

	*start = p->pos;
	for (;;) {
		if (v0_next(p, &c))
			return V0_INVALID;
		if (c == '_')
			break;
		if (!is_lower_hex(c))
			return V0_INVALID;
	}
	*n = p->pos - 1 - *start;
	return V0_OK;
}

/* The digits as an integer; 0 when they do not fit 64 bits. */
static int hex_value(const char *s, size_t n, uint64_t *v)
{
	*v = 0;
	while (n && *s == '0') {
		s++;
		n--;
	}
	if (n > 16)
		return 0;
	for (size_t i = 0; i < n; i++)
		*v = (*v << 4) | (uint64_t)(is_digit(s[i]) ? s[i] - '0' : s[i] - 'a' + 10);
	return 1;
}

/* `[u]<decimal length>[_]<bytes>`. With `u` the bytes are the ASCII part,
 * `_`, then punycode deltas (or the deltas alone when there is no `_`). */
static int v0_ident(struct v0 *p, struct v0_ident *id)
{
	int puny = v0_eat_raw(p, 'u');
	size_t len, start;
	int c = v0_peek(p);

	if (!is_digit(c))
		return V0_INVALID;
	p->pos++;
	len = (size_t)(c - '0');
	if (len != 0) {
		while (is_digit(v0_peek(p))) {
			size_t d = (size_t)(v0_peek(p) - '0');
			if (len > (SIZE_MAX - d) / 10)
				return V0_INVALID;
			len = len * 10 + d;
			p->pos++;
		}
	}
	/* The separator keeps identifiers that start with a digit or `_`
	 * apart from the length; it is optional otherwise. */
	v0_eat_raw(p, '_');
	start = p->pos;
	if (len > p->len - start)
		return V0_INVALID;
	p->pos += len;
	memset(id, 0, sizeof(*id));
	id->ascii = p->sym + start;
	id->ascii_len = len;
	if (puny) {
		size_t i = len;
		while (i > 0 && p->sym[start + i - 1] != '_')
			i--;
		if (i > 0) {
			id->ascii_len = i - 1;
			id->puny = p->sym + start + i;
			id->puny_len = len - i;
		} else {
			id->ascii_len = 0;
			id->puny = p->sym + start;
			id->puny_len = len;
		}
		if (id->puny_len == 0)
			return V0_INVALID;
	}
	return V0_OK;
}

/* Reads a back-reference (after its `B`) and returns where it points: before
 * the `B` itself. The target may still contain this very reference (a path
 * whose prefix is itself), so following references can cycle; each hop
 * counts as one level of depth, which is what bounds such a cycle. */
static int v0_backref(struct v0 *p, size_t *target)
{
	size_t b = p->pos - 1;
	uint64_t i;
	int e = v0_integer62(p, &i);

	if (e)
		return e;
	if (i >= b)
		return V0_INVALID;
	if (p->depth + 1 > V0_MAX_DEPTH)
		return V0_TOO_DEEP;
	*target = (size_t)i;
	return V0_OK;
}

/* ==== v0 scheme: printer ================================================= */

static void v0_print(struct v0 *p, const char *s)
{
	if (p->out)
		out_str(p->out, s);
}

static void v0_fail(struct v0 *p, int err)
{
	v0_print(p, err == V0_TOO_DEEP ? "{recursion limit reached}" : "{invalid syntax}");
	p->err = err;
}

/* Runs one parse step. On failure the error is printed and recorded and the
 * calling print function returns; once the parser has failed, every further
 * step prints `?` instead. */
#define V0_TRY(p, step) do { \
		int e_; \
		if ((p)->err) { v0_print((p), "?"); return; } \
		e_ = (step); \
		if (e_) { v0_fail((p), e_); return; } \
	} while (0)

#define V0_INVALID_RETURN(p) do { v0_fail((p), V0_INVALID); return; } while (0)

/* True when printing should stop: the output is full (nothing more can
 * appear) or the symbol has used up its work budget. */
static int v0_stop(struct v0 *p)
{
	if (!p->out)
		return 0;
	if (++p->steps > V0_MAX_STEPS)
		p->out->full = 1;
	return p->out->full;
}

/* Identifiers with punycode are decoded to code points (RFC 3492 with the
 * v0 alphabet: a-z then 0-9). Returns the count, or -1 when the deltas are
 * malformed, overflow, produce a non-scalar, or exceed PUNY_MAX_CHARS. */
static int puny_decode(const struct v0_ident *id, uint32_t *cp)
{
	enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38 };
	uint64_t damp = 700, bias = 72, i = 0, n = 0x80;
	size_t len = 0, k = 0;

	if (id->ascii_len > PUNY_MAX_CHARS)
		return -1;
	for (; len < id->ascii_len; len++)
		cp[len] = (unsigned char)id->ascii[len];
	for (;;) {
		uint64_t delta = 0, w = 1;

		for (uint64_t kk = BASE;; kk += BASE) {
			uint64_t t, d;
			int c = k < id->puny_len ? (unsigned char)id->puny[k++] : -1;

			t = kk > bias ? kk - bias : 0;
			t = t < TMIN ? TMIN : t > TMAX ? TMAX : t;
			if (c >= 'a' && c <= 'z')
				d = (uint64_t)(c - 'a');
			else if (is_digit(c))
				d = (uint64_t)(26 + c - '0');
			else
				return -1;
			if (w && d > UINT64_MAX / w)
				return -1;
			if (delta > UINT64_MAX - d * w)
				return -1;
			delta += d * w;
			if (d < t)
				break;
			if (w > UINT64_MAX / (BASE - t))
				return -1;
			w *= BASE - t;
		}
		len++;
		if (i > UINT64_MAX - delta)
			return -1;
		i += delta;
		if (n > UINT64_MAX - i / len)
			return -1;
		n += i / len;
		i %= len;
		if (n > UINT32_MAX || !is_scalar(n))
			return -1;
		if (len > PUNY_MAX_CHARS)
			return -1;
		memmove(cp + i + 1, cp + i, (len - 1 - i) * sizeof(*cp));
		cp[i++] = (uint32_t)n;
		if (k >= id->puny_len)
			return (int)len;
		/* Bias adaptation (RFC 3492 section 6.1), only between deltas. */
		delta /= damp;
		damp = 2;
		delta += delta / len;
		bias = 0;
		while (delta > ((BASE - TMIN) * TMAX) / 2) {
			delta /= BASE - TMIN;
			bias += BASE;
		}
		bias += ((BASE - TMIN + 1) * delta) / (delta + SKEW);
	}
}

static void v0_print_ident(struct v0 *p, const struct v0_ident *id)
{
	uint32_t cp[PUNY_MAX_CHARS];
	int n;

	if (!p->out)
		return;
	if (!id->puny) {
		out_put(p->out, id->ascii, id->ascii_len);
		return;
	}
	n = puny_decode(id, cp);
	if (n >= 0) {
		for (int i = 0; i < n; i++)
			out_utf8(p->out, cp[i]);
		return;
	}
	/* Undecodable: show standard punycode (`-` as the separator). */
	out_str(p->out, "punycode{");
	if (id->ascii_len) {
		out_put(p->out, id->ascii, id->ascii_len);
		out_str(p->out, "-");
	}
	out_put(p->out, id->puny, id->puny_len);
	out_str(p->out, "}");
}

static int ident_empty(const struct v0_ident *id)
{
	return id->ascii_len == 0 && id->puny_len == 0;
}

/* Lifetime index 0 is `'_`; index i >= 1 names the i-th innermost lifetime
 * bound by an enclosing `for<...>`, lettered from the outermost binder. */
static void v0_print_lifetime(struct v0 *p, uint64_t lt)
{
	uint64_t d;

	if (!p->out)    /* binders are not tracked while only parsing */
		return;
	v0_print(p, "'");
	if (lt == 0) {
		v0_print(p, "_");
		return;
	}
	if (lt > p->bound_lt)
		V0_INVALID_RETURN(p);
	d = p->bound_lt - lt;
	if (d < 26) {
		char c[2] = { (char)('a' + d), '\0' };
		v0_print(p, c);
	} else {
		v0_print(p, "_");
		out_u64(p->out, d);
	}
}

/* What a list element, a back-reference target or a binder body is. */
enum v0_kind {
	K_PATH,         /* path outside a value (types, traits) */
	K_VALUE_PATH,   /* path of the item itself: `foo::<T>` */
	K_TYPE,
	K_CONST,        /* constant in generic-argument position */
	K_VALUE_CONST,  /* constant inside another constant */
	K_GENERIC_ARG,
	K_DYN_TRAIT,
	K_FIELD,        /* `name: value` of a struct constant */
	K_FN_SIG,
	K_DYN_BOUNDS,
};

static void v0_print_path(struct v0 *p, int in_value);
static void v0_print_type(struct v0 *p);
static void v0_print_const(struct v0 *p, int in_value);
static int v0_print_open_generics(struct v0 *p);
static void v0_print_kind(struct v0 *p, enum v0_kind k);

/* Prints elements until `E`, separated by sep; returns how many. */
static size_t v0_print_list(struct v0 *p, enum v0_kind k, const char *sep)
{
	size_t n = 0;

	while (p->err == V0_OK && !v0_eat(p, 'E')) {
		if (v0_stop(p))
			break;
		if (n > 0)
			v0_print(p, sep);
		v0_print_kind(p, k);
		n++;
	}
	return n;
}

/* Prints what a back-reference points at. While only parsing, the target
 * was already checked where it was first written, so it is not revisited.
 * An error inside the target does not fail the rest of the symbol (the
 * reference's own position resumes), as in rustc-demangle. *open receives
 * the result for K_DYN_TRAIT-style open generics when asked. */
static void v0_print_backref(struct v0 *p, enum v0_kind k, int *open)
{
	size_t target, pos;
	unsigned depth;
	int err, o;

	V0_TRY(p, v0_backref(p, &target));
	if (!p->out)
		return;
	pos = p->pos;
	depth = p->depth;
	err = p->err;
	p->pos = target;
	p->depth++;
	if (open) {
		o = v0_print_open_generics(p);
		*open = o;
	} else {
		v0_print_kind(p, k);
	}
	p->pos = pos;
	p->depth = depth;
	p->err = err;
}

static void v0_print_path(struct v0 *p, int in_value)
{
	struct v0_ident id;
	uint64_t dis;
	struct dm_out *saved;
	int tag, ns;

	if (v0_stop(p))
		return;
	V0_TRY(p, v0_push_depth(p));
	V0_TRY(p, v0_next(p, &tag));
	switch (tag) {
	case 'C':       /* crate root; its disambiguator is not printed */
		V0_TRY(p, v0_disambiguator(p, &dis));
		V0_TRY(p, v0_ident(p, &id));
		v0_print_ident(p, &id);
		break;
	case 'N':       /* nested item */
		V0_TRY(p, v0_namespace(p, &ns));
		v0_print_path(p, in_value);
		/* A failed prefix printed its error without the `::` an empty
		 * ident would omit; keep `::?` readable. */
		if (p->err)
			v0_print(p, "::");
		V0_TRY(p, v0_disambiguator(p, &dis));
		V0_TRY(p, v0_ident(p, &id));
		if (ns) {
			char c[2] = { (char)ns, '\0' };
			v0_print(p, "::{");
			v0_print(p, ns == 'C' ? "closure" : ns == 'S' ? "shim" : c);
			if (!ident_empty(&id)) {
				v0_print(p, ":");
				v0_print_ident(p, &id);
			}
			v0_print(p, "#");
			if (p->out)
				out_u64(p->out, dis);
			v0_print(p, "}");
		} else if (!ident_empty(&id)) {
			v0_print(p, "::");
			v0_print_ident(p, &id);
		}
		break;
	case 'M':       /* inherent impl: <T> */
	case 'X':       /* trait impl: <T as Trait> */
	case 'Y':       /* trait item without impl: <T as Trait> */
		if (tag != 'Y') {
			/* The impl's own path (its crate and module) is parsed
			 * but not shown, as Rust writes these items. */
			V0_TRY(p, v0_disambiguator(p, &dis));
			saved = p->out;
			p->out = NULL;
			v0_print_path(p, 0);
			p->out = saved;
		}
		v0_print(p, "<");
		v0_print_type(p);
		if (tag != 'M') {
			v0_print(p, " as ");
			v0_print_path(p, 0);
		}
		v0_print(p, ">");
		break;
	case 'I':       /* generic arguments */
		v0_print_path(p, in_value);
		if (in_value)
			v0_print(p, "::");
		v0_print(p, "<");
		v0_print_list(p, K_GENERIC_ARG, ", ");
		v0_print(p, ">");
		break;
	case 'B':
		v0_print_backref(p, in_value ? K_VALUE_PATH : K_PATH, NULL);
		break;
	default:
		V0_INVALID_RETURN(p);
	}
	v0_pop_depth(p);
}

static void v0_print_generic_arg(struct v0 *p)
{
	uint64_t lt;

	if (v0_eat(p, 'L')) {
		V0_TRY(p, v0_integer62(p, &lt));
		v0_print_lifetime(p, lt);
	} else if (v0_eat(p, 'K')) {
		v0_print_const(p, 0);
	} else {
		v0_print_type(p);
	}
}

static const char *v0_basic_type(int tag)
{
	switch (tag) {
	case 'b': return "bool";
	case 'c': return "char";
	case 'e': return "str";
	case 'u': return "()";
	case 'a': return "i8";
	case 's': return "i16";
	case 'l': return "i32";
	case 'x': return "i64";
	case 'n': return "i128";
	case 'i': return "isize";
	case 'h': return "u8";
	case 't': return "u16";
	case 'm': return "u32";
	case 'y': return "u64";
	case 'o': return "u128";
	case 'j': return "usize";
	case 'f': return "f32";
	case 'd': return "f64";
	case 'z': return "!";
	case 'p': return "_";
	case 'v': return "...";
	default: return NULL;
	}
}

/* Runs body (a fn signature or dyn bounds) inside an optional `G` binder,
 * printing `for<'a, 'b> ` and making those lifetimes nameable in it. */
static void v0_in_binder(struct v0 *p, enum v0_kind body)
{
	uint64_t n, saved = p->bound_lt;

	V0_TRY(p, v0_opt_integer62(p, 'G', &n));
	if (!p->out) {
		v0_print_kind(p, body);
		return;
	}
	if (n > 0) {
		v0_print(p, "for<");
		for (uint64_t i = 0; i < n && !p->out->full; i++) {
			if (i > 0)
				v0_print(p, ", ");
			p->bound_lt++;
			v0_print_lifetime(p, 1);
		}
		v0_print(p, "> ");
	}
	v0_print_kind(p, body);
	p->bound_lt = saved;
}

/* `[unsafe ][extern "abi" ]fn(args)[ -> ret]`, after the binder. */
static void v0_print_fn_sig(struct v0 *p)
{
	struct v0_ident abi = { 0 };
	int is_unsafe = v0_eat(p, 'U'), has_abi = 0;

	if (v0_eat(p, 'K')) {
		has_abi = 1;
		if (v0_eat(p, 'C')) {
			abi.ascii = "C";
			abi.ascii_len = 1;
		} else {
			V0_TRY(p, v0_ident(p, &abi));
			if (abi.ascii_len == 0 || abi.puny)
				V0_INVALID_RETURN(p);
		}
	}
	if (is_unsafe)
		v0_print(p, "unsafe ");
	if (has_abi && p->out) {
		/* The mangling turned `-` into `_` ("C-unwind" is C_unwind). */
		v0_print(p, "extern \"");
		for (size_t i = 0; i < abi.ascii_len; i++)
			out_put(p->out, abi.ascii[i] == '_' ? "-" : abi.ascii + i, 1);
		v0_print(p, "\" ");
	}
	v0_print(p, "fn(");
	v0_print_list(p, K_TYPE, ", ");
	v0_print(p, ")");
	if (!v0_eat(p, 'u')) {      /* a `()` return is not written */
		v0_print(p, " -> ");
		v0_print_type(p);
	}
}

static void v0_print_type(struct v0 *p)
{
	const char *basic;
	uint64_t lt;
	int tag;

	if (v0_stop(p))
		return;
	V0_TRY(p, v0_next(p, &tag));
	basic = v0_basic_type(tag);
	if (basic) {
		v0_print(p, basic);
		return;
	}
	V0_TRY(p, v0_push_depth(p));
	switch (tag) {
	case 'R':       /* &T */
	case 'Q':       /* &mut T */
		v0_print(p, "&");
		if (v0_eat(p, 'L')) {
			V0_TRY(p, v0_integer62(p, &lt));
			if (lt != 0) {
				v0_print_lifetime(p, lt);
				v0_print(p, " ");
			}
		}
		if (tag == 'Q')
			v0_print(p, "mut ");
		v0_print_type(p);
		break;
	case 'P':       /* *const T */
	case 'O':       /* *mut T */
		v0_print(p, tag == 'P' ? "*const " : "*mut ");
		v0_print_type(p);
		break;
	case 'A':       /* [T; N] */
	case 'S':       /* [T] */
		v0_print(p, "[");
		v0_print_type(p);
		if (tag == 'A') {
			v0_print(p, "; ");
			v0_print_const(p, 1);
		}
		v0_print(p, "]");
		break;
	case 'T':       /* tuple; a 1-tuple keeps its trailing comma */
		v0_print(p, "(");
		if (v0_print_list(p, K_TYPE, ", ") == 1)
			v0_print(p, ",");
		v0_print(p, ")");
		break;
	case 'F':
		v0_in_binder(p, K_FN_SIG);
		break;
	case 'D':       /* dyn Trait + ... + 'lt */
		v0_print(p, "dyn ");
		v0_in_binder(p, K_DYN_BOUNDS);
		if (!v0_eat(p, 'L'))
			V0_INVALID_RETURN(p);
		V0_TRY(p, v0_integer62(p, &lt));
		if (lt != 0) {
			v0_print(p, " + ");
			v0_print_lifetime(p, lt);
		}
		break;
	case 'B':
		v0_print_backref(p, K_TYPE, NULL);
		break;
	default:        /* any other type is a path (structs, enums, ...) */
		p->pos--;
		v0_print_path(p, 0);
	}
	v0_pop_depth(p);
}

/* A trait path whose `<...>` is left open so associated-type bindings
 * (`Item = u8`) can join its generic arguments. Returns 1 when open. */
static int v0_print_open_generics(struct v0 *p)
{
	int open = 0;

	if (v0_eat(p, 'B')) {
		v0_print_backref(p, K_DYN_TRAIT, &open);
		return open;
	}
	if (v0_eat(p, 'I')) {
		v0_print_path(p, 0);
		v0_print(p, "<");
		v0_print_list(p, K_GENERIC_ARG, ", ");
		return 1;
	}
	v0_print_path(p, 0);
	return 0;
}

static void v0_print_dyn_trait(struct v0 *p)
{
	struct v0_ident name;
	int open = v0_print_open_generics(p);

	while (v0_eat(p, 'p')) {
		v0_print(p, open ? ", " : "<");
		open = 1;
		V0_TRY(p, v0_ident(p, &name));
		v0_print_ident(p, &name);
		v0_print(p, " = ");
		v0_print_type(p);
	}
	if (open)
		v0_print(p, ">");
}

/* Code points Rust's char::escape_debug shows as `\u{..}` outside ASCII.
 * Rust consults full Unicode tables (unprintable, unassigned and
 * grapheme-extending characters); this table covers the controls, spaces,
 * format characters, common combining marks, private use, noncharacters and
 * the unassigned planes. Other unassigned BMP code points are printed as
 * they are, a known difference that only affects the rare const generic
 * `char` and `&str` values. */
static int needs_unicode_escape(uint32_t c)
{
	static const struct { uint32_t lo, hi; } esc[] = {
		{ 0x0080, 0x00a0 }, { 0x00ad, 0x00ad }, { 0x0300, 0x036f },
		{ 0x0483, 0x0489 }, { 0x0591, 0x05bd }, { 0x0600, 0x0605 },
		{ 0x0610, 0x061a }, { 0x061c, 0x061c }, { 0x064b, 0x065f },
		{ 0x06dd, 0x06dd }, { 0x070f, 0x070f }, { 0x1680, 0x1680 },
		{ 0x180e, 0x180e }, { 0x1ab0, 0x1aff }, { 0x1dc0, 0x1dff },
		{ 0x2000, 0x200f }, { 0x2028, 0x202f }, { 0x205f, 0x206f },
		{ 0x20d0, 0x20ff }, { 0x3000, 0x3000 }, { 0xd800, 0xf8ff },
		{ 0xfdd0, 0xfdef }, { 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f },
		{ 0xfeff, 0xfeff }, { 0xfff0, 0xfffb }, { 0x110bd, 0x110bd },
		{ 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a }, { 0x3347a, 0xeffff },
	};

	if (c < 0x20 || c == 0x7f)
		return 1;
	if (c < 0x80)
		return 0;
	if ((c & 0xfffe) == 0xfffe || c >= 0xf0000)
		return 1;
	for (size_t i = 0; i < sizeof(esc) / sizeof(esc[0]); i++)
		if (c >= esc[i].lo && c <= esc[i].hi)
			return 1;
	return 0;
}

/* One char of a `'c'` or `"str"` constant, escaped as Rust's Debug would;
 * the other kind of quote needs no escape inside the literal. */
static void out_escaped_char(struct dm_out *o, uint32_t c, char quote)
{
	static const char hexd[] = "0123456789abcdef";
	char buf[12];
	size_t n = 0;
	int shift;

	switch (c) {
	case '\0': out_str(o, "\\0"); return;
	case '\t': out_str(o, "\\t"); return;
	case '\r': out_str(o, "\\r"); return;
	case '\n': out_str(o, "\\n"); return;
	case '\\': out_str(o, "\\\\"); return;
	case '\'':
	case '"':
		if ((char)c == quote)
			out_str(o, "\\");
		out_utf8(o, c);
		return;
	}
	if (!needs_unicode_escape(c)) {
		out_utf8(o, c);
		return;
	}
	buf[n++] = '\\';
	buf[n++] = 'u';
	buf[n++] = '{';
	for (shift = 20; shift > 0 && !((c >> shift) & 0xf); shift -= 4)
		;
	for (; shift >= 0; shift -= 4)
		buf[n++] = hexd[(c >> shift) & 0xf];
	buf[n++] = '}';
	out_put(o, buf, n);
}

/* Decodes one UTF-8 sequence from the hex-encoded bytes of a str constant,
 * strictly (no overlongs, surrogates or values past U+10FFFF). Returns the
 * nibbles consumed, or 0 when invalid. */
static size_t hex_utf8(const char *s, size_t n, uint32_t *cp)
{
	unsigned char b[4];
	size_t len, i;
	uint32_t c;
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };

	for (i = 0; i < 4 && 2 * i + 1 < n; i++) {
		uint64_t v;
		hex_value(s + 2 * i, 2, &v);
		b[i] = (unsigned char)v;
	}
	if (i == 0)
		return 0;
	if (b[0] < 0x80)
		len = 1;
	else if (b[0] >= 0xc0 && b[0] <= 0xdf)
		len = 2;
	else if (b[0] >= 0xe0 && b[0] <= 0xef)
		len = 3;
	else if (b[0] >= 0xf0 && b[0] <= 0xf7)
		len = 4;
	else
		return 0;
	if (len > i)
		return 0;
	c = len == 1 ? b[0] : (uint32_t)(b[0] & (0x7f >> len));
	for (size_t k = 1; k < len; k++) {
		if ((b[k] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (b[k] & 0x3f);
	}
	if (c < min[len] || !is_scalar(c))
		return 0;
	*cp = c;
	return 2 * len;
}

/* A `&str` constant: hex-encoded UTF-8 bytes, printed as a quoted literal.
 * The whole string is validated before anything is printed. */
static void v0_print_str_literal(struct v0 *p)
{
	size_t start, n, i, k;
	uint32_t c;
	const char *s;

	V0_TRY(p, v0_hex(p, &start, &n));
	s = p->sym + start;
	if (n % 2)
		V0_INVALID_RETURN(p);
	for (i = 0; i < n; i += k)
		if ((k = hex_utf8(s + i, n - i, &c)) == 0)
			V0_INVALID_RETURN(p);
	if (!p->out)
		return;
	out_str(p->out, "\"");
	for (i = 0; i < n; i += k) {
		k = hex_utf8(s + i, n - i, &c);
		out_escaped_char(p->out, c, '"');
	}
	out_str(p->out, "\"");
}

/* An integer constant: decimal when it fits 64 bits, else the raw hex. */
static void v0_print_const_uint(struct v0 *p)
{
	size_t start, n;
	uint64_t v;

	V0_TRY(p, v0_hex(p, &start, &n));
	if (!p->out)
		return;
	if (hex_value(p->sym + start, n, &v)) {
		out_u64(p->out, v);
	} else {
		out_str(p->out, "0x");
		out_put(p->out, p->sym + start, n);
	}
}

static void v0_print_field(struct v0 *p)
{
	struct v0_ident name;
	uint64_t dis;

	V0_TRY(p, v0_disambiguator(p, &dis));
	V0_TRY(p, v0_ident(p, &name));
	v0_print_ident(p, &name);
	v0_print(p, ": ");
	v0_print_const(p, 1);
}

/* Constants. Outside another constant, anything but a literal is wrapped in
 * `{...}` as Rust requires for const generic arguments. */
static void v0_print_const(struct v0 *p, int in_value)
{
	size_t start, n;
	uint64_t v;
	int tag, sub, braced = 0;

	if (v0_stop(p))
		return;
	V0_TRY(p, v0_next(p, &tag));
	V0_TRY(p, v0_push_depth(p));
#define OPEN_BRACE() do { if (!in_value) { braced = 1; v0_print(p, "{"); } } while (0)
	switch (tag) {
	case 'p':
		v0_print(p, "_");
		break;
	case 'h': case 't': case 'm': case 'y': case 'o': case 'j':
		v0_print_const_uint(p);
		break;
	case 'a': case 's': case 'l': case 'x': case 'n': case 'i':
		if (v0_eat(p, 'n'))
			v0_print(p, "-");
		v0_print_const_uint(p);
		break;
	case 'b':
		V0_TRY(p, v0_hex(p, &start, &n));
		if (!hex_value(p->sym + start, n, &v) || v > 1)
			V0_INVALID_RETURN(p);
		v0_print(p, v ? "true" : "false");
		break;
	case 'c':
		V0_TRY(p, v0_hex(p, &start, &n));
		if (!hex_value(p->sym + start, n, &v) || !is_scalar(v))
			V0_INVALID_RETURN(p);
		if (p->out) {
			out_str(p->out, "'");
			out_escaped_char(p->out, (uint32_t)v, '\'');
			out_str(p->out, "'");
		}
		break;
	case 'e':
		/* `str`, not `&str`: written as a dereferenced literal. */
		OPEN_BRACE();
		v0_print(p, "*");
		v0_print_str_literal(p);
		break;
	case 'R':
	case 'Q':
		if (tag == 'R' && v0_eat(p, 'e')) {
			v0_print_str_literal(p);
			break;
		}
		OPEN_BRACE();
		v0_print(p, tag == 'R' ? "&" : "&mut ");
		v0_print_const(p, 1);
		break;
	case 'A':
		OPEN_BRACE();
		v0_print(p, "[");
		v0_print_list(p, K_VALUE_CONST, ", ");
		v0_print(p, "]");
		break;
	case 'T':
		OPEN_BRACE();
		v0_print(p, "(");
		if (v0_print_list(p, K_VALUE_CONST, ", ") == 1)
			v0_print(p, ",");
		v0_print(p, ")");
		break;
	case 'V':       /* enum variant or struct value */
		OPEN_BRACE();
		v0_print_path(p, 1);
		V0_TRY(p, v0_next(p, &sub));
		if (sub == 'T') {
			v0_print(p, "(");
			v0_print_list(p, K_VALUE_CONST, ", ");
			v0_print(p, ")");
		} else if (sub == 'S') {
			v0_print(p, " { ");
			v0_print_list(p, K_FIELD, ", ");
			v0_print(p, " }");
		} else if (sub != 'U') {
			V0_INVALID_RETURN(p);
		}
		break;
	case 'B':
		v0_print_backref(p, in_value ? K_VALUE_CONST : K_CONST, NULL);
		break;
	default:
		V0_INVALID_RETURN(p);
	}
#undef OPEN_BRACE
	if (braced)
		v0_print(p, "}");
	v0_pop_depth(p);
}

static void v0_print_kind(struct v0 *p, enum v0_kind k)
{
	switch (k) {
	case K_PATH:            v0_print_path(p, 0); break;
	case K_VALUE_PATH:      v0_print_path(p, 1); break;
	case K_TYPE:            v0_print_type(p); break;
	case K_CONST:           v0_print_const(p, 0); break;
	case K_VALUE_CONST:     v0_print_const(p, 1); break;
	case K_GENERIC_ARG:     v0_print_generic_arg(p); break;
	case K_DYN_TRAIT:       v0_print_dyn_trait(p); break;
	case K_FIELD:           v0_print_field(p); break;
	case K_FN_SIG:          v0_print_fn_sig(p); break;
	case K_DYN_BOUNDS:      v0_print_list(p, K_DYN_TRAIT, " + "); break;
	}
}

/* Demangles the text after `_R`. The symbol is parsed once without output
 * to decide whether it is v0 at all (so a non-Rust name that happens to
 * start with `_R` is copied, not half-printed), then printed. The
 * instantiating crate that may follow the path is parsed but not shown. */
static int v0_demangle(const char *s, size_t n, struct dm_out *o)
{
	struct v0 p;
	size_t end;

	if (n == 0 || !is_upper((unsigned char)s[0]) || !all_ascii(s, n))
		return 0;
	memset(&p, 0, sizeof(p));
	p.sym = s;
	p.len = n;
	v0_print_path(&p, 0);
	if (p.err == V0_OK && is_upper(v0_peek(&p)))
		v0_print_path(&p, 0);
	if (p.err)
		return 0;
	end = p.pos;
	if (end < n && (s[end] != '.' || !is_symbol_like(s + end, n - end)))
		return 0;

	memset(&p, 0, sizeof(p));
	p.sym = s;
	p.len = n;
	p.out = o;
	v0_print_path(&p, 1);
	out_put(o, s + end, n - end);
	return 1;
}

/* ==== Entry point ======================================================== */

/* LLVM names local clones `<name>.llvm.<hex>` after ThinLTO; the suffix is
 * noise in a profile. Returns the length without it, as rustc-demangle
 * strips it: only the first `.llvm.`, only when all that follows is
 * uppercase hex or `@`. */
static size_t strip_llvm_suffix(const char *s, size_t n)
{
	const char *m = strstr(s, ".llvm.");

	if (!m)
		return n;
	for (const char *c = m + 6; *c; c++)
		if (!(is_digit(*c) || (*c >= 'A' && *c <= 'F') || *c == '@'))
			return n;
	return (size_t)(m - s);
}

int sym_demangle(const char *mangled, char *out, size_t outlen)
{
	struct dm_out o;
	size_t n;

	if (!out || outlen == 0)
		return 0;
	o.buf = out;
	o.cap = outlen - 1;
	o.len = 0;
	o.full = 0;
	out[0] = '\0';
	if (!mangled)
		return 0;
	n = strip_llvm_suffix(mangled, strlen(mangled));

	/* Legacy first: its prefixes never start a v0 symbol. The Windows
	 * (`ZN`, `R`) and macOS (`__ZN`, `__R`) variants lose or gain an
	 * underscore. A legacy-shaped name with a bad suffix is not retried
	 * as v0, matching rustc-demangle. */
	if (n > 3 && strncmp(mangled, "_ZN", 3) == 0) {
		if (legacy_demangle(mangled + 3, n - 3, &o))
			return 1;
		goto copy;
	}
	if (n >= 2 && strncmp(mangled, "ZN", 2) == 0) {
		if (legacy_demangle(mangled + 2, n - 2, &o))
			return 1;
		goto copy;
	}
	if (n >= 4 && strncmp(mangled, "__ZN", 4) == 0) {
		if (legacy_demangle(mangled + 4, n - 4, &o))
			return 1;
		goto copy;
	}
	if (n > 2 && strncmp(mangled, "_R", 2) == 0) {
		if (v0_demangle(mangled + 2, n - 2, &o))
			return 1;
	} else if (n > 1 && mangled[0] == 'R') {
		if (v0_demangle(mangled + 1, n - 1, &o))
			return 1;
	} else if (n > 3 && strncmp(mangled, "__R", 3) == 0) {
		if (v0_demangle(mangled + 3, n - 3, &o))
			return 1;
	}
copy:
	/* Not a Rust symbol: the name as given, truncated. */
	o.len = 0;
	o.full = 0;
	out[0] = '\0';
	out_str(&o, mangled);
	return 0;
}
