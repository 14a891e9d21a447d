/* demangle_cpp.c — C++ Itanium ABI names (_Z...) for mixed binaries: a
 * subset that covers what real libraries and C++ units use, printed the way
 * binutils' c++filt prints them (tests/unit/test_demangle_cpp.c compares
 * against its output on real libstdc++ symbols).
 *
 * Covered: nested and unscoped names, std:: abbreviations, source names and
 * the anonymous namespace, constructors and destructors, operators and
 * conversions, ABI tags, templates (type and literal arguments, packs,
 * template parameters), substitutions, builtin types, cv-qualifiers,
 * pointers, references, arrays, function types and pointers to them,
 * pointers to members, local names, lambdas and unnamed types, vtables and
 * other special names, clone suffixes. Anything else (expressions, decltype,
 * vendor qualifiers) makes the whole name fail: it is then shown mangled,
 * never half-demangled.
 *
 * Each type is built as two strings, left and right of where a declarator
 * goes, so that "void (*)(int)" and "int (&) [3]" come out right. Every
 * string is bounded; recursion is bounded; on any bound the name fails. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "dwarf/dwarf.h"

#define MAX_DEPTH    64
#define MAX_SUBS     256
#define MAX_TARGS    64
#define STR_CAP      4096

struct str {
	char *p;
	size_t n;
};

/* A type: printed as l then r; paren: r holds a function's parameters or
 * an array bound, so a pointer or reference goes in parentheses between. */
struct ty {
	struct str l, r;
	int paren;
};

struct cp {
	const char *s, *end;
	int fail, depth;
	struct ty subs[MAX_SUBS];
	int nsubs;
	struct ty targs[MAX_TARGS];     /* the template arguments T_ refers to */
	int ntargs;
	int in_type;            /* > 0: names met now are types, not the entity's */
};

/* ---- Strings ------------------------------------------------------------ */

static void s_free(struct str *s)
{
	free(s->p);
	s->p = NULL;
	s->n = 0;
}

static void s_addn(struct cp *c, struct str *s, const char *t, size_t n)
{
	if (c->fail)
		return;
	if (s->n + n >= STR_CAP) {
		c->fail = 1;
		return;
	}
	char *p = realloc(s->p, s->n + n + 1);
	if (!p) {
		c->fail = 1;
		return;
	}
	memcpy(p + s->n, t, n);
	s->n += n;
	p[s->n] = '\0';
	s->p = p;
}

static void s_add(struct cp *c, struct str *s, const char *t)
{
	s_addn(c, s, t, strlen(t));
}

static void s_adds(struct cp *c, struct str *s, const struct str *t)
{
	if (t->n)
		s_addn(c, s, t->p, t->n);
}

static const char *s_c(const struct str *s)
{
	return s->p ? s->p : "";
}

/* Prepends t to s. */
static void s_pre(struct cp *c, struct str *s, const char *t)
{
	struct str n = { 0 };
	s_add(c, &n, t);
	s_adds(c, &n, s);
	s_free(s);
	*s = n;
}

static void ty_free(struct ty *t)
{
	s_free(&t->l);
	s_free(&t->r);
	t->paren = 0;
}

static struct ty ty_copy(struct cp *c, const struct ty *t)
{
	struct ty n = { .paren = t->paren };
	s_adds(c, &n.l, &t->l);
	s_adds(c, &n.r, &t->r);
	return n;
}

static struct str ty_str(struct cp *c, const struct ty *t)
{
	struct str n = { 0 };
	s_adds(c, &n, &t->l);
	s_adds(c, &n, &t->r);
	return n;
}

static void add_sub(struct cp *c, const struct ty *t)
{
	if (c->fail)
		return;
	if (c->nsubs == MAX_SUBS) {
		c->fail = 1;
		return;
	}
	c->subs[c->nsubs++] = ty_copy(c, t);
}

static void add_sub_str(struct cp *c, const struct str *s)
{
	struct ty t = { 0 };
	s_adds(c, &t.l, s);
	add_sub(c, &t);
	ty_free(&t);
}

/* ---- Input -------------------------------------------------------------- */

static int peek(struct cp *c)
{
	return c->s < c->end ? (unsigned char)*c->s : 0;
}

static int peek2(struct cp *c)
{
	return c->s + 1 < c->end ? (unsigned char)c->s[1] : 0;
}

static int eat(struct cp *c, int ch)
{
	if (peek(c) == ch) {
		c->s++;
		return 1;
	}
	return 0;
}

static int is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* <number> ::= [n] <decimal>. Returns -1 on failure. */
static long number(struct cp *c, int *neg)
{
	*neg = eat(c, 'n');
	if (!is_digit(peek(c))) {
		c->fail = 1;
		return -1;
	}
	long v = 0;
	while (is_digit(peek(c))) {
		v = v * 10 + (*c->s++ - '0');
		if (v > 1000000) {
			c->fail = 1;
			return -1;
		}
	}
	return v;
}

/* The index of an unnamed type or lambda, [<number>] _: 1 without a
 * number, else number + 2 (the ABI counts from the second one); -1 (and
 * c->fail) when the closing '_' is missing. */
static long unnamed_index(struct cp *c)
{
	int neg;
	long n = is_digit(peek(c)) ? number(c, &neg) + 2 : 1;
	if (!eat(c, '_')) {
		c->fail = 1;
		return -1;
	}
	return n;
}

/* <seq-id> _ in base 36; "_" alone is 0, "0_" is 1. Returns -1 on failure. */
static long seq_id(struct cp *c)
{
	if (eat(c, '_'))
		return 0;
	long v = 0;
	for (;;) {
		int ch = peek(c);
		if (is_digit(ch))
			v = v * 36 + (ch - '0');
		else if (ch >= 'A' && ch <= 'Z')
			v = v * 36 + (ch - 'A' + 10);
		else
			break;
		c->s++;
		if (v > 100000) {
			c->fail = 1;
			return -1;
		}
	}
	if (!eat(c, '_')) {
		c->fail = 1;
		return -1;
	}
	return v + 1;
}

/* ---- Names -------------------------------------------------------------- */

static void type(struct cp *c, struct ty *out);
static void encoding(struct cp *c, struct str *out, int top);
static void template_args(struct cp *c, struct str *out, int keep);

struct name_info {
	int is_template;        /* ends with template arguments */
	int ctor_dtor_conv;     /* its last part is a ctor, dtor or conversion */
	struct str cv;          /* member function qualifiers: " const" ... */
	struct str last;        /* last unqualified name (for ctor names) */
};

static void source_name(struct cp *c, struct str *out)
{
	int neg;
	long n = number(c, &neg);
	if (c->fail || neg || n <= 0 || c->end - c->s < n) {
		c->fail = 1;
		return;
	}
	if (n >= 10 && strncmp(c->s, "_GLOBAL__N", 10) == 0)
		s_add(c, out, "(anonymous namespace)");
	else
		s_addn(c, out, c->s, (size_t)n);
	c->s += n;
}

static const struct {
	char code[3];
	const char *name;
} operators[] = {
	{ "nw", "new" }, { "na", "new[]" }, { "dl", "delete" }, { "da", "delete[]" },
	{ "ps", "+" }, { "ng", "-" }, { "ad", "&" }, { "de", "*" }, { "co", "~" },
	{ "pl", "+" }, { "mi", "-" }, { "ml", "*" }, { "dv", "/" }, { "rm", "%" },
	{ "an", "&" }, { "or", "|" }, { "eo", "^" }, { "aS", "=" }, { "pL", "+=" },
	{ "mI", "-=" }, { "mL", "*=" }, { "dV", "/=" }, { "rM", "%=" }, { "aN", "&=" },
	{ "oR", "|=" }, { "eO", "^=" }, { "ls", "<<" }, { "rs", ">>" }, { "lS", "<<=" },
	{ "rS", ">>=" }, { "eq", "==" }, { "ne", "!=" }, { "lt", "<" }, { "gt", ">" },
	{ "le", "<=" }, { "ge", ">=" }, { "ss", "<=>" }, { "nt", "!" }, { "aa", "&&" },
	{ "oo", "||" }, { "pp", "++" }, { "mm", "--" }, { "cm", "," }, { "pm", "->*" },
	{ "pt", "->" }, { "cl", "()" }, { "ix", "[]" }, { "qu", "?" },
};

/* An unqualified name: source name, operator, ctor/dtor, lambda, unnamed
 * type, with ABI tags. enclosing: the name of the class (for ctors). */
static void unqualified(struct cp *c, struct str *out, const struct str *enclosing,
			struct name_info *ni)
{
	int ch = peek(c);
	ni->ctor_dtor_conv = 0;
	if (is_digit(ch)) {
		source_name(c, out);
	} else if (ch == 'C' || (ch == 'D' && strchr("012345", peek2(c)) && peek2(c))) {
		/* A constructor or destructor is named after its class. */
		c->s++;
		int dtor = ch == 'D';
		if (!dtor && peek(c) == 'I')
			c->s++;      /* inheriting constructor */
		if (!is_digit(peek(c))) {
			c->fail = 1;
			return;
		}
		c->s++;
		if (!enclosing || !enclosing->n) {
			c->fail = 1;
			return;
		}
		if (dtor)
			s_add(c, out, "~");
		/* Named after the class without its ABI tags. */
		const char *tag = strstr(s_c(enclosing), "[abi:");
		s_addn(c, out, s_c(enclosing), tag ? (size_t)(tag - s_c(enclosing)) : enclosing->n);
		ni->ctor_dtor_conv = 1;
	} else if (ch == 'U' && peek2(c) == 't') {
		c->s += 2;
		long n = unnamed_index(c);
		if (n < 0)
			return;
		char buf[48];
		snprintf(buf, sizeof(buf), "{unnamed type#%ld}", n);
		s_add(c, out, buf);
	} else if (ch == 'U' && peek2(c) == 'l') {
		c->s += 2;
		s_add(c, out, "{lambda(");
		int first = 1;
		if (peek(c) == 'v' && c->s + 1 < c->end && c->s[1] == 'E') {
			c->s++;
		} else {
			while (!c->fail && peek(c) && peek(c) != 'E') {
				struct ty t = { 0 };
				type(c, &t);
				struct str ts = ty_str(c, &t);
				if (!first)
					s_add(c, out, ", ");
				s_adds(c, out, &ts);
				first = 0;
				s_free(&ts);
				ty_free(&t);
			}
		}
		if (!eat(c, 'E')) {
			c->fail = 1;
			return;
		}
		long n = unnamed_index(c);
		if (n < 0)
			return;
		char buf[48];
		snprintf(buf, sizeof(buf), ")#%ld}", n);
		s_add(c, out, buf);
	} else if (ch == 'c' && peek2(c) == 'v') {
		c->s += 2;
		struct ty t = { 0 };
		type(c, &t);
		struct str ts = ty_str(c, &t);
		s_add(c, out, "operator ");
		s_adds(c, out, &ts);
		s_free(&ts);
		ty_free(&t);
		ni->ctor_dtor_conv = 1;
	} else if (ch == 'l' && peek2(c) == 'i') {
		c->s += 2;
		s_add(c, out, "operator\"\" ");
		source_name(c, out);
	} else if (ch >= 'a' && ch <= 'z') {
		size_t i;
		for (i = 0; i < sizeof(operators) / sizeof(operators[0]); i++)
			if (c->s + 1 < c->end && c->s[0] == operators[i].code[0] && c->s[1] == operators[i].code[1])
				break;
		if (i == sizeof(operators) / sizeof(operators[0])) {
			c->fail = 1;
			return;
		}
		c->s += 2;
		const char *op = operators[i].name;
		s_add(c, out, "operator");
		if (op[0] >= 'a' && op[0] <= 'z')
			s_add(c, out, " ");
		s_add(c, out, op);
	} else {
		c->fail = 1;
		return;
	}
	while (!c->fail && peek(c) == 'B') {
		c->s++;
		s_add(c, out, "[abi:");
		source_name(c, out);
		s_add(c, out, "]");
	}
}

/* c++filt (binutils 2.40) prints the full expansion of Ss, Si, So, Sd
 * everywhere, so that is what full is for every caller. */
static const char *std_sub(int ch, int full)
{
	full = 1;
	switch (ch) {
	case 'a': return "std::allocator";
	case 'b': return "std::basic_string";
	case 's': return full ? "std::basic_string<char, std::char_traits<char>, std::allocator<char> >"
			      : "std::string";
	case 'i': return full ? "std::basic_istream<char, std::char_traits<char> >" : "std::istream";
	case 'o': return full ? "std::basic_ostream<char, std::char_traits<char> >" : "std::ostream";
	case 'd': return full ? "std::basic_iostream<char, std::char_traits<char> >" : "std::iostream";
	default: return NULL;
	}
}

/* The class name a ctor/dtor in a std abbreviation is named after. */
static const char *std_sub_class(int ch)
{
	switch (ch) {
	case 'a': return "allocator";
	case 'b': return "basic_string";
	case 's': return "basic_string";
	case 'i': return "basic_istream";
	case 'o': return "basic_ostream";
	case 'd': return "basic_iostream";
	default: return NULL;
	}
}

/* A substitution S...: appends it to out. Returns 0, or -1. */
static int substitution(struct cp *c, struct str *out, struct str *last, int full)
{
	if (!eat(c, 'S')) {
		c->fail = 1;
		return -1;
	}
	int ch = peek(c);
	const char *std = std_sub(ch, full);
	if (std) {
		c->s++;
		s_add(c, out, std);
		s_free(last);
		s_add(c, last, std_sub_class(ch));
		return 0;
	}
	long id = seq_id(c);
	if (c->fail || id < 0 || id >= c->nsubs) {
		c->fail = 1;
		return -1;
	}
	struct str ts = ty_str(c, &c->subs[id]);
	s_adds(c, out, &ts);
	/* The unqualified tail names a constructor of a substituted class. */
	s_free(last);
	const char *p = s_c(&ts), *tail = p;
	int angle = 0;
	for (const char *q = p; *q; q++) {
		if (*q == '<')
			angle++;
		else if (*q == '>')
			angle--;
		else if (!angle && q[0] == ':' && q[1] == ':')
			tail = q + 2;
	}
	const char *lt = strchr(tail, '<');
	s_addn(c, last, tail, lt ? (size_t)(lt - tail) : strlen(tail));
	s_free(&ts);
	return 0;
}

/* <nested-name> ::= N [cv] [ref] <prefix>... E */
static void nested_name(struct cp *c, struct str *out, struct name_info *ni)
{
	struct str last = { 0 };
	int parts = 0;
	c->s++;        /* N */
	for (;;) {
		if (eat(c, 'r'))
			s_add(c, &ni->cv, " restrict");
		else if (eat(c, 'V'))
			s_add(c, &ni->cv, " volatile");
		else if (eat(c, 'K'))
			s_add(c, &ni->cv, " const");
		else
			break;
	}
	/* Qualifiers were read inner to outer; c++filt prints them in
	 * mangled order, which is what this gives for the common cases. */
	if (eat(c, 'R'))
		s_add(c, &ni->cv, " &");
	else if (eat(c, 'O'))
		s_add(c, &ni->cv, " &&");
	ni->is_template = 0;
	while (!c->fail) {
		int ch = peek(c);
		if (ch == 'E') {
			c->s++;
			break;
		}
		if (ch == 0) {
			c->fail = 1;
			break;
		}
		if (ch == 'I') {
			if (!parts) {
				c->fail = 1;
				break;
			}
			/* Template args of the prefix so far: the prefix itself was
			 * a candidate, and prefix<args> is one if more follows. */
			template_args(c, out, 1);
			ni->is_template = 1;
			if (peek(c) != 'E')
				add_sub_str(c, out);
			continue;
		}
		ni->is_template = 0;
		if (ch == 'S' && peek2(c) == 't') {
			c->s += 2;
			s_add(c, out, "std");
			s_free(&last);
			s_add(c, &last, "std");
			parts++;
			continue;   /* ::std:: is not a candidate */
		}
		if (parts)
			s_add(c, out, "::");
		if (ch == 'S') {
			if (substitution(c, out, &last, 0) != 0)
				break;
			parts++;
			continue;
		}
		if (ch == 'T') {
			struct ty t = { 0 };
			type(c, &t);
			struct str ts = ty_str(c, &t);
			s_adds(c, out, &ts);
			s_free(&last);
			s_adds(c, &last, &ts);
			s_free(&ts);
			ty_free(&t);
			parts++;
			if (peek(c) != 'E')
				add_sub_str(c, out);
			continue;
		}
		struct str u = { 0 };
		unqualified(c, &u, &last, ni);
		s_adds(c, out, &u);
		if (!ni->ctor_dtor_conv) {
			s_free(&last);
			s_adds(c, &last, &u);
		}
		s_free(&u);
		parts++;
		if (peek(c) != 'E')
			add_sub_str(c, out);
	}
	s_free(&ni->last);
	ni->last = last;
}

/* <local-name> ::= Z <encoding> E <name> [<discriminator>] | Z <encoding> E s */
static void local_name(struct cp *c, struct str *out, struct name_info *ni)
{
	c->s++;        /* Z */
	struct str enc = { 0 };
	encoding(c, &enc, 0);
	if (!eat(c, 'E')) {
		c->fail = 1;
		s_free(&enc);
		return;
	}
	s_adds(c, out, &enc);
	s_free(&enc);
	s_add(c, out, "::");
	if (eat(c, 's')) {
		s_add(c, out, "string literal");
	} else {
		struct str n = { 0 };
		if (peek(c) == 'N') {
			nested_name(c, &n, ni);
		} else {
			struct str none = { 0 };
			unqualified(c, &n, &none, ni);
			if (peek(c) == 'I') {
				template_args(c, &n, 1);
				ni->is_template = 1;
			}
		}
		s_adds(c, out, &n);
		s_free(&n);
	}
	if (eat(c, '_')) {
		int neg;
		if (eat(c, '_')) {
			(void)number(c, &neg);
			eat(c, '_');
		} else {
			(void)number(c, &neg);
		}
	}
}

static void name(struct cp *c, struct str *out, struct name_info *ni)
{
	if (c->depth++ > MAX_DEPTH) {
		c->fail = 1;
		return;
	}
	int ch = peek(c);
	ni->is_template = 0;
	if (ch == 'N') {
		nested_name(c, out, ni);
	} else if (ch == 'Z') {
		local_name(c, out, ni);
	} else {
		struct str none = { 0 };
		int std = 0;
		if (ch == 'S' && peek2(c) == 't') {
			c->s += 2;
			s_add(c, out, "std::");
			std = 1;
		}
		if (!std && ch == 'S') {
			struct str last = { 0 };
			substitution(c, out, &last, 0);
			s_free(&last);
			/* Only a template name can be substituted here. */
			if (peek(c) != 'I')
				c->fail = 1;
		} else {
			unqualified(c, out, &none, ni);
		}
		if (peek(c) == 'I') {
			add_sub_str(c, out);
			template_args(c, out, 1);
			ni->is_template = 1;
		}
	}
	c->depth--;
}

/* ---- Types -------------------------------------------------------------- */

static const char *builtin(int ch)
{
	switch (ch) {
	case 'v': return "void"; case 'w': return "wchar_t"; case 'b': return "bool";
	case 'c': return "char"; case 'a': return "signed char"; case 'h': return "unsigned char";
	case 's': return "short"; case 't': return "unsigned short"; case 'i': return "int";
	case 'j': return "unsigned int"; case 'l': return "long"; case 'm': return "unsigned long";
	case 'x': return "long long"; case 'y': return "unsigned long long"; case 'n': return "__int128";
	case 'o': return "unsigned __int128"; case 'f': return "float"; case 'd': return "double";
	case 'e': return "long double"; case 'g': return "__float128"; case 'z': return "...";
	default: return NULL;
	}
}

static const char *builtin_D(int ch)
{
	switch (ch) {
	case 'd': return "decimal64"; case 'e': return "decimal128"; case 'f': return "decimal32";
	case 'h': return "half"; case 'i': return "char32_t"; case 's': return "char16_t";
	case 'u': return "char8_t"; case 'a': return "auto"; case 'c': return "decltype(auto)";
	case 'n': return "decltype(nullptr)";
	default: return NULL;
	}
}

/* Adds a pointer/reference declarator to t. */
static void declarator(struct cp *c, struct ty *t, const char *d)
{
	if (t->paren == 1) {
		/* A function or array: the declarator goes in parentheses. */
		s_add(c, &t->l, t->l.n && t->l.p[t->l.n - 1] != ' ' && t->l.p[t->l.n - 1] != '(' ? " (" : "(");
		s_add(c, &t->l, d);
		s_pre(c, &t->r, ")");
		t->paren = 2;
	} else {
		s_add(c, &t->l, d);
	}
}

static void bare_params(struct cp *c, struct str *out)
{
	/* (void) is printed as () */
	if (peek(c) == 'v' && (c->s + 1 >= c->end || c->s[1] == 'E' || c->s[1] == '.')) {
		c->s++;
		return;
	}
	int first = 1;
	while (!c->fail && peek(c) && peek(c) != 'E' && peek(c) != '.') {
		struct ty t = { 0 };
		type(c, &t);
		struct str ts = ty_str(c, &t);
		if (!first)
			s_add(c, out, ", ");
		s_adds(c, out, &ts);
		first = 0;
		s_free(&ts);
		ty_free(&t);
	}
}

static void function_type(struct cp *c, struct ty *out)
{
	c->s++;        /* F */
	eat(c, 'Y');
	struct ty ret = { 0 };
	type(c, &ret);
	struct str params = { 0 };
	bare_params(c, &params);
	struct str cv = { 0 };
	if (eat(c, 'R'))
		s_add(c, &cv, " &");
	else if (eat(c, 'O'))
		s_add(c, &cv, " &&");
	if (!eat(c, 'E'))
		c->fail = 1;
	/* A function returning a function pointer nests declarators inside
	 * out ("void (*(*)(int))(int)"): not in this subset. */
	if (ret.paren)
		c->fail = 1;
	struct str rs = ty_str(c, &ret);
	s_adds(c, &out->l, &rs);
	s_add(c, &out->l, " ");
	s_add(c, &out->r, "(");
	s_adds(c, &out->r, &params);
	s_add(c, &out->r, ")");
	s_adds(c, &out->r, &cv);
	out->paren = 1;
	s_free(&rs);
	s_free(&params);
	s_free(&cv);
	ty_free(&ret);
}

static void template_param(struct cp *c, struct ty *out)
{
	c->s++;        /* T */
	long id = seq_id(c);
	if (c->fail || id < 0 || id >= c->ntargs) {
		c->fail = 1;
		return;
	}
	*out = ty_copy(c, &c->targs[id]);
}

static void type(struct cp *c, struct ty *out)
{
	if (c->depth++ > MAX_DEPTH) {
		c->fail = 1;
		return;
	}
	c->in_type++;
	int ch = peek(c);
	const char *b = builtin(ch);
	if (b) {
		c->s++;
		s_add(c, &out->l, b);
		goto done;
	}
	if (ch == 'D' && builtin_D(peek2(c))) {
		s_add(c, &out->l, builtin_D(peek2(c)));
		c->s += 2;
		goto done;
	}
	if (ch == 'D' && peek2(c) == 'p') {
		c->s += 2;      /* pack expansion: the pattern prints as itself */
		type(c, out);
		add_sub(c, out);
		goto done;
	}
	if (ch == 'r' || ch == 'V' || ch == 'K') {
		const char *q[3];
		int nq = 0;
		while (nq < 3 && (peek(c) == 'r' || peek(c) == 'V' || peek(c) == 'K')) {
			int qc = *c->s++;
			q[nq++] = qc == 'r' ? " restrict" : qc == 'V' ? " volatile" : " const";
		}
		type(c, out);
		for (int i = nq; i-- > 0;) {
			if (out->paren == 1) {
				s_add(c, &out->r, q[i]);   /* a cv-qualified function type */
			} else {
				s_add(c, &out->l, q[i]);
			}
		}
		add_sub(c, out);
		goto done;
	}
	if (ch == 'P' || ch == 'R' || ch == 'O') {
		c->s++;
		type(c, out);
		declarator(c, out, ch == 'P' ? "*" : ch == 'R' ? "&" : "&&");
		add_sub(c, out);
		goto done;
	}
	if (ch == 'F') {
		function_type(c, out);
		add_sub(c, out);
		goto done;
	}
	if (ch == 'A') {
		c->s++;
		struct str dim = { 0 };
		while (is_digit(peek(c)))
			s_addn(c, &dim, c->s++, 1);
		if (!eat(c, '_')) {
			c->fail = 1;
			s_free(&dim);
			goto done;
		}
		type(c, out);
		struct str r = { 0 };
		s_add(c, &r, out->paren ? "[" : " [");
		s_adds(c, &r, &dim);
		s_add(c, &r, "]");
		s_adds(c, &r, &out->r);
		s_free(&out->r);
		out->r = r;
		out->paren = 1;
		s_free(&dim);
		add_sub(c, out);
		goto done;
	}
	if (ch == 'M') {
		c->s++;
		struct ty cls = { 0 }, mem = { 0 };
		type(c, &cls);
		type(c, &mem);
		struct str cs = ty_str(c, &cls);
		s_add(c, &cs, "::*");
		if (mem.paren == 1) {
			s_adds(c, &out->l, &mem.l);
			s_add(c, &out->l, "(");
			s_adds(c, &out->l, &cs);
			s_add(c, &out->r, ")");
			s_adds(c, &out->r, &mem.r);
			out->paren = 2;
		} else {
			s_adds(c, &out->l, &mem.l);
			s_add(c, &out->l, " ");
			s_adds(c, &out->l, &cs);
			s_adds(c, &out->r, &mem.r);
		}
		s_free(&cs);
		ty_free(&cls);
		ty_free(&mem);
		add_sub(c, out);
		goto done;
	}
	if (ch == 'T') {
		template_param(c, out);
		add_sub(c, out);
		if (peek(c) == 'I') {
			template_args(c, &out->l, 0);
			add_sub(c, out);
		}
		goto done;
	}
	if (ch == 'S' && peek2(c) != 't') {
		struct str last = { 0 };
		substitution(c, &out->l, &last, 0);
		s_free(&last);
		if (peek(c) == 'I') {
			template_args(c, &out->l, 0);
			add_sub(c, out);
		}
		goto done;
	}
	if (ch == 'N' || ch == 'Z' || is_digit(ch) || ch == 'S') {
		struct name_info ni = { 0 };
		name(c, &out->l, &ni);
		s_free(&ni.cv);
		s_free(&ni.last);
		add_sub(c, out);
		goto done;
	}
	if (ch == 'u') {
		c->s++;
		source_name(c, &out->l);   /* vendor extended type */
		add_sub(c, out);
		goto done;
	}
	c->fail = 1;
done:
	c->in_type--;
	c->depth--;
}

/* ---- Template arguments ------------------------------------------------- */

static void literal(struct cp *c, struct str *out)
{
	c->s++;        /* L */
	if (peek(c) == '_' && peek2(c) == 'Z') {
		c->s += 2;
		encoding(c, out, 0);
		if (!eat(c, 'E'))
			c->fail = 1;
		return;
	}
	struct ty t = { 0 };
	int tc = peek(c);
	type(c, &t);
	const char *start = c->s;
	eat(c, 'n');
	while (peek(c) && peek(c) != 'E')
		c->s++;
	if (!eat(c, 'E')) {
		c->fail = 1;
		ty_free(&t);
		return;
	}
	size_t n = (size_t)(c->s - 1 - start);
	int neg = n && start[0] == 'n';
	if (tc == 'b' && n == 1 && (start[0] == '0' || start[0] == '1')) {
		s_add(c, out, start[0] == '1' ? "true" : "false");
	} else if (tc == 'i' || tc == 'j' || tc == 'l' || tc == 'm' || tc == 'x' || tc == 'y') {
		if (neg)
			s_add(c, out, "-");
		s_addn(c, out, start + neg, n - (size_t)neg);
		s_add(c, out, tc == 'j' ? "u" : tc == 'l' ? "l" : tc == 'm' ? "ul" :
			      tc == 'x' ? "ll" : tc == 'y' ? "ull" : "");
	} else {
		struct str ts = ty_str(c, &t);
		s_add(c, out, "(");
		s_adds(c, out, &ts);
		s_add(c, out, ")");
		if (neg)
			s_add(c, out, "-");
		s_addn(c, out, start + neg, n - (size_t)neg);
		s_free(&ts);
	}
	ty_free(&t);
}

static void template_arg(struct cp *c, struct str *out, struct ty *as_type)
{
	int ch = peek(c);
	if (ch == 'L') {
		literal(c, out);
		s_adds(c, &as_type->l, out);
	} else if (ch == 'J') {
		c->s++;
		int first = 1;
		while (!c->fail && peek(c) && peek(c) != 'E') {
			struct str a = { 0 };
			struct ty t = { 0 };
			template_arg(c, &a, &t);
			if (!first)
				s_add(c, out, ", ");
			s_adds(c, out, &a);
			first = 0;
			s_free(&a);
			ty_free(&t);
		}
		if (!eat(c, 'E'))
			c->fail = 1;
		s_adds(c, &as_type->l, out);
	} else if (ch == 'X') {
		c->fail = 1;   /* expressions: not in this subset */
	} else {
		type(c, as_type);
		struct str ts = ty_str(c, as_type);
		s_adds(c, out, &ts);
		s_free(&ts);
	}
}

/* I <arg>+ E, appended as "<a, b>". keep: these are the arguments T_
 * refers to from here on (the outermost name's). */
static void template_args(struct cp *c, struct str *out, int keep)
{
	struct ty args[MAX_TARGS];
	int n = 0;
	c->s++;        /* I */
	if (c->depth++ > MAX_DEPTH) {
		c->fail = 1;
		return;
	}
	/* "operator<< <T>", not "operator<<<T>" */
	s_add(c, out, out->n && out->p[out->n - 1] == '<' ? " <" : "<");
	while (!c->fail && peek(c) && peek(c) != 'E') {
		if (n == MAX_TARGS) {
			c->fail = 1;
			break;
		}
		struct str a = { 0 };
		args[n] = (struct ty){ 0 };
		template_arg(c, &a, &args[n]);
		if (n)
			s_add(c, out, ", ");
		s_adds(c, out, &a);
		s_free(&a);
		n++;
	}
	if (!eat(c, 'E'))
		c->fail = 1;
	/* c++filt keeps a space between closing brackets: "> >". */
	if (out->n && out->p[out->n - 1] == '>')
		s_add(c, out, " ");
	s_add(c, out, ">");
	if (keep && c->in_type == 0 && !c->fail) {
		for (int i = 0; i < c->ntargs; i++)
			ty_free(&c->targs[i]);
		for (int i = 0; i < n; i++)
			c->targs[i] = args[i];
		c->ntargs = n;
	} else {
		for (int i = 0; i < n; i++)
			ty_free(&args[i]);
	}
	c->depth--;
}

/* ---- Encodings ---------------------------------------------------------- */

static int special(struct cp *c, struct str *out)
{
	static const struct {
		const char *code, *text;
		int is_type;
	} sp[] = {
		{ "TV", "vtable for ", 1 }, { "TT", "VTT for ", 1 }, { "TI", "typeinfo for ", 1 },
		{ "TS", "typeinfo name for ", 1 }, { "GV", "guard variable for ", 0 },
		{ "TH", "TLS init function for ", 0 }, { "TW", "TLS wrapper function for ", 0 },
	};
	for (size_t i = 0; i < sizeof(sp) / sizeof(sp[0]); i++) {
		if (c->end - c->s < 2 || strncmp(c->s, sp[i].code, 2) != 0)
			continue;
		c->s += 2;
		s_add(c, out, sp[i].text);
		if (sp[i].is_type) {
			struct ty t = { 0 };
			type(c, &t);
			struct str ts = ty_str(c, &t);
			s_adds(c, out, &ts);
			s_free(&ts);
			ty_free(&t);
		} else {
			struct name_info ni = { 0 };
			name(c, out, &ni);
			s_free(&ni.cv);
			s_free(&ni.last);
		}
		return 1;
	}
	if (c->end - c->s >= 3 && strncmp(c->s, "GTt", 3) == 0) {
		c->s += 3;
		s_add(c, out, "transaction clone for ");
		encoding(c, out, 0);
		return 1;
	}
	if (peek(c) == 'T' && (peek2(c) == 'h' || peek2(c) == 'v')) {
		int virt = peek2(c) == 'v';
		c->s += 2;
		int neg;
		(void)number(c, &neg);
		if (virt) {
			if (!eat(c, '_')) {
				c->fail = 1;
				return 1;
			}
			(void)number(c, &neg);
		}
		if (!eat(c, '_')) {
			c->fail = 1;
			return 1;
		}
		s_add(c, out, virt ? "virtual thunk to " : "non-virtual thunk to ");
		encoding(c, out, 0);
		return 1;
	}
	return 0;
}

static void encoding(struct cp *c, struct str *out, int top)
{
	if (c->depth++ > MAX_DEPTH) {
		c->fail = 1;
		return;
	}
	if (special(c, out)) {
		c->depth--;
		return;
	}
	struct name_info ni = { 0 };
	struct str nm = { 0 };
	name(c, &nm, &ni);
	int ch = peek(c);
	if (c->fail || ch == 0 || ch == 'E' || ch == '.') {
		/* Data, not a function. */
		s_adds(c, out, &nm);
	} else {
		struct str ret = { 0 }, params = { 0 };
		if (ni.is_template && !ni.ctor_dtor_conv) {
			struct ty t = { 0 };
			type(c, &t);
			ret = ty_str(c, &t);
			ty_free(&t);
		}
		bare_params(c, &params);
		if (ret.n) {
			s_adds(c, out, &ret);
			s_add(c, out, " ");
		}
		s_adds(c, out, &nm);
		s_add(c, out, "(");
		s_adds(c, out, &params);
		s_add(c, out, ")");
		s_adds(c, out, &ni.cv);
		s_free(&ret);
		s_free(&params);
	}
	(void)top;
	s_free(&nm);
	s_free(&ni.cv);
	s_free(&ni.last);
	c->depth--;
}

/* GCC's clone suffixes: ".constprop.0" -> " [clone .constprop.0]". */
static int clone_suffix(struct cp *c, struct str *out)
{
	while (c->s < c->end) {
		if (*c->s != '.')
			return -1;
		const char *start = c->s++;
		int alpha = 0;
		while (c->s < c->end && ((*c->s >= 'a' && *c->s <= 'z') || *c->s == '_')) {
			c->s++;
			alpha = 1;
		}
		if (!alpha && !(c->s < c->end && is_digit(*c->s)))
			return -1;
		while (c->s + 1 < c->end && *c->s == '.' && is_digit(c->s[1])) {
			c->s++;
			while (c->s < c->end && is_digit(*c->s))
				c->s++;
		}
		if (!alpha)
			while (c->s < c->end && is_digit(*c->s))
				c->s++;
		s_add(c, out, " [clone ");
		s_addn(c, out, start, (size_t)(c->s - start));
		s_add(c, out, "]");
	}
	return 0;
}

int sym_demangle_cpp(const char *mangled, char *out, size_t outlen)
{
	if (!out || outlen == 0)
		return 0;
	out[0] = '\0';
	if (!mangled)
		return 0;
	if (strncmp(mangled, "_Z", 2) != 0) {
		snprintf(out, outlen, "%s", mangled);
		return 0;
	}
	struct cp *c = calloc(1, sizeof(*c));
	if (!c)
		return 0;
	c->s = mangled + 2;
	c->end = mangled + strlen(mangled);
	struct str res = { 0 };
	encoding(c, &res, 1);
	int ok = !c->fail && clone_suffix(c, &res) == 0 && !c->fail && c->s == c->end &&
		 res.n > 0 && res.n < outlen;
	if (ok)
		memcpy(out, res.p, res.n + 1);
	else
		snprintf(out, outlen, "%s", mangled);
	s_free(&res);
	for (int i = 0; i < c->nsubs; i++)
		ty_free(&c->subs[i]);
	for (int i = 0; i < c->ntargs; i++)
		ty_free(&c->targs[i]);
	free(c);
	return ok;
}
